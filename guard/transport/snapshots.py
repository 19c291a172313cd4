"""What every snapshot reader does the same way, whichever client reads."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import structlog

from guard.transport.base import InRecord, TopicPartition, TopicSnapshot

log = structlog.get_logger(__name__)


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
    def high_watermarks(self, topic: str) -> dict[int, int]:
        """Each partition's end counting records of open transactions and markers not yet
        written (what a read_uncommitted reader would read up to)."""

    @abstractmethod
    def close(self) -> None: ...

    def settled_snapshot(self, topic: str, wait_s: float) -> TopicSnapshot | None:
        """A snapshot taken once no transaction on `topic` is open or short of its markers
        (its committed end has caught up with its high watermark), or after `wait_s` with
        what is committed by then. A commit returns before the broker has written its
        markers, and until it has, the records of that transaction are not yet readable:
        read right after a commit, a plain snapshot can miss the whole transaction."""
        deadline = time.monotonic() + wait_s
        while True:
            snapshot = self.snapshot(topic)
            if snapshot is None or time.monotonic() >= deadline:
                return snapshot
            if self.high_watermarks(topic) == snapshot.end:
                return snapshot
            time.sleep(0.05)

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


class MarkerProbe:
    """A pipe's `holds_records`: a reader of its own (an assign-only read_committed consumer,
    opened on first use, since the group consumer cannot read partitions it does not own),
    bounded, and closed quietly with the pipe."""

    TIMEOUT_S = 5.0

    def __init__(self, open_reader: Callable[[], SnapshotReader]) -> None:
        self._open = open_reader
        self._reader: SnapshotReader | None = None

    def holds_records(self, spans: Mapping[TopicPartition, tuple[int, int]]) -> bool:
        if self._reader is None:
            self._reader = self._open()
        return holds_records(self._reader, spans, self.TIMEOUT_S)

    def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is None:
            return
        try:
            reader.close()
        except Exception as exc:  # it only ever read: nothing to lose
            log.warning("closing the records reader failed", error=str(exc))
