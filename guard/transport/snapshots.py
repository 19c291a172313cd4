"""What every snapshot reader does the same way, whichever client reads."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence

from guard.transport.base import InRecord, TopicPartition, TopicSnapshot


class SnapshotReader(ABC):
    """A `CommittedRead`: each client reads snapshots its own way; the table of the latest
    record per key is built from them once, here."""

    @abstractmethod
    def snapshot(self, topic: str) -> TopicSnapshot | None:
        """Current start/end offsets, or None when the topic does not exist."""

    @abstractmethod
    def read(
        self, snapshots: Sequence[TopicSnapshot], timeout_s: float = 300.0
    ) -> Iterator[InRecord]:
        """Every committed record up to each snapshot's end, partition by partition batches."""

    @abstractmethod
    def close(self) -> None: ...

    def latest(self, topic: str, timeout_s: float = 300.0) -> dict[bytes, InRecord]:
        """A compacted topic as a table: the last committed record per key; a tombstone (null
        value) removes its key; records without a key are ignored."""
        snapshot = self.snapshot(topic)
        if snapshot is None:
            return {}
        return latest_by_key(self.read([snapshot], timeout_s))


def latest_by_key(records: Iterable[InRecord]) -> dict[bytes, InRecord]:
    """A compacted topic as a table: the last record per key; a tombstone (null value)
    removes its key; records without a key are ignored."""
    table: dict[bytes, InRecord] = {}
    for rec in records:
        if rec.key is None:
            continue
        if rec.value is None:
            table.pop(rec.key, None)
        else:
            table[rec.key] = rec
    return table


def holds_records(
    reader: SnapshotReader, spans: Mapping[TopicPartition, tuple[int, int]], timeout_s: float
) -> bool:
    """Whether any committed record lies in [start, end) of any span, read with `reader`; it
    stops at the first. A span holding only transaction markers or aborted transactions'
    records (what an upstream transactional producer leaves after its last record) holds
    none, though its offsets differ."""
    by_topic: dict[str, TopicSnapshot] = {}
    for (topic, partition), (start, end) in spans.items():
        if end > start:
            snap = by_topic.setdefault(topic, TopicSnapshot(topic, {}, {}))
            snap.start[partition], snap.end[partition] = start, end
    return any(True for _ in reader.read(list(by_topic.values()), timeout_s))
