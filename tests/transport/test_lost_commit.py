"""When a transaction the broker left open is aborted, and where its abort reaches
(guard/transport/lost_commit.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from guard.errors import TransientTransportError
from guard.transport.base import OutRecord, TopicPartition
from guard.transport.lost_commit import MARK_HEADER, abort_lost_transaction

A0, A1 = ("a", 0), ("a", 1)
WRITTEN = [("a.valid", 0), ("a.valid", 1), ("a.quarantine", 0)]


class FakeSide:
    """Assigned partitions, of which `stuck` do not read back; records what is aborted."""

    def __init__(
        self, assigned: list[TopicPartition], stuck: set[TopicPartition], broker_up: bool = True
    ) -> None:
        self._assigned = assigned
        self.stuck = stuck
        self.broker_up = broker_up
        self.aborted: list[tuple[list[OutRecord], dict[TopicPartition, int]]] = []

    def assigned(self) -> list[TopicPartition]:
        return self._assigned

    def committed_now(self, tp: TopicPartition, timeout_s: float) -> int | None:
        if tp in self.stuck:
            raise TransientTransportError("committed: _TIMED_OUT")
        return 5

    def leader_answers(self, tp: TopicPartition, timeout_s: float) -> bool:
        return self.broker_up

    def written_partitions(self) -> list[TopicPartition]:
        return WRITTEN

    def abort_writing(
        self, records: Sequence[OutRecord], offsets: Mapping[TopicPartition, int]
    ) -> None:
        self.aborted.append((list(records), dict(offsets)))


def test_offsets_that_all_read_back_abort_nothing() -> None:
    side = FakeSide([A0, A1], stuck=set())
    assert abort_lost_transaction(side) is False
    assert side.aborted == []


def test_a_stuck_partition_aborts_a_transaction_with_the_groups_offsets() -> None:
    side = FakeSide([A0, A1], stuck={A1})
    assert abort_lost_transaction(side) is True
    [(_, offsets)] = side.aborted
    assert list(offsets) == [A1]


def test_the_abort_writes_one_marker_record_to_every_partition_written_to() -> None:
    side = FakeSide([A0], stuck={A0})
    abort_lost_transaction(side)
    [(records, _)] = side.aborted
    assert [(r.topic, r.partition) for r in records] == WRITTEN
    assert all(r.headers == [(MARK_HEADER, b"abort")] for r in records)


def test_reads_failing_while_the_leaders_do_not_answer_either_are_an_outage_not_aborted() -> None:
    side = FakeSide([A0, A1], stuck={A0, A1}, broker_up=False)
    assert abort_lost_transaction(side) is False
    assert side.aborted == []
