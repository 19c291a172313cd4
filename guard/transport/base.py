"""The transport seam: what the router needs from a broker, as a Protocol.

`KafkaPipe` implements it over kafka-python, `ConfluentPipe` over confluent-kafka
(librdkafka); `MemoryPipe` is an in-process fake for unit tests only (integration tests always
use a real broker).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

Headers = list[tuple[str, bytes]]  # what a producer sends
InHeaders = list[tuple[str, bytes | None]]  # what a consumer gets: Kafka allows null values
TopicPartition = tuple[str, int]


# Not frozen, like OutRecord: one is made per polled record, and a frozen dataclass's __init__
# sets each of its eight fields through object.__setattr__. Never mutated after creation.
@dataclass(slots=True)
class InRecord:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: InHeaders
    # Set when the client could not read this record's headers (e.g. a header key that is
    # not UTF-8): the record is data to quarantine, not a fault. `headers` then holds what
    # could be read, and the text says what was wrong.
    header_error: str | None = None

    def header(self, name: str) -> bytes | None:
        """The last value of header `name` (Kafka allows repeats; the last one wins)."""
        found = None
        for k, v in self.headers:
            if k == name:
                found = v
        return found


# Not frozen: a frozen dataclass's __init__ costs ~0.5 us per record on the routing hot path
# (benchmarks/routing.py). Never mutated after creation.
@dataclass(slots=True)
class OutRecord:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]]  # null header values are carried as null
    timestamp_ms: int | None = None
    partition: int | None = None


@dataclass(frozen=True)
class TopicSnapshot:
    """Offsets of one topic's partitions: where committed data starts and ends."""

    topic: str
    start: dict[int, int]
    end: dict[int, int]

    @property
    def size(self) -> int:
        """An upper bound on the records to read (aborted records and markers take offsets)."""
        return sum(self.end[p] - self.start[p] for p in self.end)


@dataclass(frozen=True)
class TimestampWindow:
    """How far a record's CreateTime may be behind or ahead of the broker's clock for a topic
    to take it (`message.timestamp.before.max.ms` / `.after.max.ms`; None: no bound). The
    broker refuses a record outside it (INVALID_TIMESTAMP), and with it the whole batch."""

    before_ms: int | None
    after_ms: int | None


@dataclass(frozen=True)
class TopicFacts:
    """What the broker says about one topic now: its partition count, the largest record
    batch it accepts (`max.message.bytes`; None when it could not be read), and the window
    its records' timestamps must fall in (None: any timestamp, e.g. LogAppendTime)."""

    partitions: int
    max_message_bytes: int | None = None
    timestamps: TimestampWindow | None = None


class Pipe(Protocol):
    """Consume -> produce -> commit, with the commit atomic over records and offsets."""

    def subscribe(self, topics: Sequence[str]) -> None: ...

    def poll(self, max_records: int, timeout_ms: int) -> list[InRecord]: ...

    def has_assignment(self) -> bool:
        """Whether the consumer currently owns any partitions."""
        ...

    def assigned(self) -> list[TopicPartition]:
        """The partitions the consumer currently owns (its client's own view, no request)."""
        ...

    def lag(self) -> dict[TopicPartition, int]:
        """Records after the consumer's position, per assigned partition, up to the
        read_committed end (bounded call; raises TransportError when it cannot tell)."""
        ...

    def group_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, tuple[int, int]]:
        """For every partition of `topics`, whoever owns it: the group's committed offset (the
        partition's start when it has none) and the read_committed end. Bounded; raises
        TransportError when it cannot tell. Health reads it while this instance owns none."""
        ...

    def holds_records(self, spans: Mapping[TopicPartition, tuple[int, int]]) -> bool:
        """Whether any committed record lies in [start, end) of a span (partition ->
        (group offset, end) from `group_offsets`): the offsets after the last record of an
        upstream transaction are its commit marker, no record. Bounded; raises
        TransportError when it cannot tell."""
        ...

    def begin(self) -> None: ...

    def writes_to(self, topics: Sequence[str]) -> None:
        """The topics this pipe's transactions will write to (besides those it has sent to):
        a transaction the broker left open is aborted in all their partitions
        (guard/transport/lost_commit.py)."""
        ...

    def send(self, record: OutRecord) -> None: ...

    def send_many(self, records: Sequence[OutRecord]) -> None:
        """`send` for each record, in order (one call per slice of a batch)."""
        ...

    def cap_batch_bytes(self, limit: int) -> None:
        """No produce request may exceed `limit` bytes (the smallest target's
        max.message.bytes); called between transactions."""
        ...

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit everything sent since `begin` together with the consumed `offsets`
        (next offset to read per partition), or nothing at all."""
        ...

    def abort(self) -> None:
        """Drop the open transaction and rewind consumption to the last committed offsets."""
        ...

    def partition_count(self, topic: str) -> int | None: ...

    def ensure_topics(
        self,
        partitions: Mapping[str, int],
        configs: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """Create the topics that do not exist yet, with the given partition counts and
        per-topic configs (e.g. `retention.ms`)."""
        ...

    def close(self) -> None: ...


class CommittedRead(Protocol):
    """Reads topics with read_committed up to a snapshot of their end (what downstream sees)."""

    def snapshot(self, topic: str) -> TopicSnapshot | None: ...

    def settled_snapshot(self, topic: str, wait_s: float) -> TopicSnapshot | None:
        """A snapshot once no transaction on `topic` awaits its markers (at most `wait_s`)."""
        ...

    def read(
        self, snapshots: Sequence[TopicSnapshot], timeout_s: float = 300.0
    ) -> Iterator[InRecord]: ...

    def latest(self, topic: str, timeout_s: float = 300.0) -> dict[bytes, InRecord]: ...

    def close(self) -> None: ...


class TxSink(Protocol):
    """A transactional producer with no consumer attached (replay, tools)."""

    def ready(self) -> None:
        """Make the producer again if the last one was abandoned (a commit step that ran out
        of time) or could not be made: its `init_transactions` fences the old one, whose
        transaction is then over -- committed, if its commit had reached the coordinator, or
        aborted. Raises TransientTransportError when it cannot be made yet."""
        ...

    def cap_batch_bytes(self, limit: int) -> None:
        """No produce request may exceed `limit` bytes (the smallest target's
        max.message.bytes); called between transactions."""
        ...

    def begin(self) -> None: ...

    def send(self, record: OutRecord) -> None: ...

    def commit(self) -> None:
        """Commit what was sent since `begin`, or nothing at all."""
        ...

    def abort(self) -> None: ...

    def close(self) -> None: ...
