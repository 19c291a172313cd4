"""SnapshotReader.settled_snapshot: waits for transactions to settle, never past its bound."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from guard.transport.base import InRecord, TopicSnapshot
from guard.transport.snapshots import SnapshotReader


class _Reader(SnapshotReader):
    """Committed end 3; the high watermark 5 (markers pending) for the first `pending` looks."""

    def __init__(self, pending: int) -> None:
        self.pending = pending
        self.looks = 0

    def snapshot(self, topic: str) -> TopicSnapshot | None:
        end = 3 if self.looks < self.pending else 5
        return TopicSnapshot(topic, {0: 0}, {0: end})

    def high_watermarks(self, topic: str) -> dict[int, int]:
        self.looks += 1
        return {0: 5}

    def read(
        self, snapshots: Sequence[TopicSnapshot], timeout_s: float = 300.0
    ) -> Iterator[InRecord]:
        return iter(())

    def close(self) -> None:
        pass


def test_a_snapshot_behind_the_high_watermark_is_taken_again_until_it_catches_up() -> None:
    reader = _Reader(pending=3)
    snapshot = reader.settled_snapshot("t", wait_s=600)
    assert snapshot is not None and snapshot.end == {0: 5}
    assert reader.looks == 4


def test_a_transaction_that_stays_open_is_left_out_once_the_wait_is_over() -> None:
    reader = _Reader(pending=10**9)
    snapshot = reader.settled_snapshot("t", wait_s=0)
    assert snapshot is not None and snapshot.end == {0: 3}
