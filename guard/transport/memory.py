"""An in-process broker fake behind the `Pipe`, `TxSink` and `CommittedRead` seams, for unit
tests only.

It keeps transactional semantics that the router relies on: records sent inside a
transaction become visible, and offsets committed, only on commit; `abort` drops both and
rewinds. `fail_next_commits` injects transient commit failures. A `MemoryTxSink` models a
commit whose answer never came back (`lose_commit_answer_of`): like a real coordinator
that received EndTxn, the broker completes that transaction when the next producer with the
same transactional id initialises, and not before (a read until then does not see it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence

from guard.errors import TransientTransportError
from guard.transport.base import (
    InRecord,
    OutRecord,
    TopicFacts,
    TopicPartition,
    TopicSnapshot,
)
from guard.transport.topic_configs import topic_facts


class MemoryBroker:
    def __init__(self) -> None:
        self.topics: dict[str, list[list[InRecord]]] = {}
        self.committed: dict[str, dict[TopicPartition, int]] = defaultdict(dict)
        self.configs: dict[str, dict[str, str]] = {}  # per-topic configs given at creation
        self.ids: dict[str, str] = {}  # topic ids, given when first asked for
        # Per transactional id: the records of a commit sent whose answer was lost.
        self.in_doubt: dict[str, list[OutRecord]] = {}
        self.tx_commits = 0  # MemoryTxSink commits so far
        self.lose_commit_answer_of: int | None = None  # this one (1-based) lands in doubt

    def create(self, topic: str, partitions: int = 1) -> None:
        self.topics.setdefault(topic, [[] for _ in range(partitions)])

    def append(self, rec: OutRecord, partition: int | None = None) -> InRecord:
        parts = self.topics.setdefault(rec.topic, [[]])
        p = rec.partition if rec.partition is not None else (partition or 0)
        if rec.partition is None and rec.key is not None:
            p = hash(rec.key) % len(parts)
        if not 0 <= p < len(parts):  # as the clients: a partition the topic does not have
            raise ValueError(f"Unrecognized partition {p} of {rec.topic}")
        log = parts[p]
        stored = InRecord(
            rec.topic, p, len(log), rec.timestamp_ms or 0, rec.key, rec.value, list(rec.headers)
        )
        log.append(stored)
        return stored

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int = 0,
    ) -> InRecord:
        return self.append(OutRecord(topic, key, value, headers or [], 0, partition))

    def records(self, topic: str) -> list[InRecord]:
        return [r for part in self.topics.get(topic, []) for r in part]

    def init_transactions(self, transactional_id: str) -> None:
        """A producer with this id initialises: it fences the earlier one, whose commit in
        doubt (EndTxn received) is completed first."""
        for rec in self.in_doubt.pop(transactional_id, []):
            self.append(rec)

    def ensure_topics(
        self,
        partitions: Mapping[str, int],
        configs: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        for topic, n in partitions.items():
            if topic not in self.topics:
                self.configs[topic] = dict((configs or {}).get(topic, {}))
            self.create(topic, n)

    def topic_id(self, topic: str) -> str | None:
        """What `guard.transport.factory.topic_id` reads: one id per topic while it exists
        (a test that deletes a topic drops it from `topics` and `ids`)."""
        if topic not in self.topics:
            return None
        return self.ids.setdefault(topic, f"id-{topic}-{len(self.ids)}")

    def describe_topics(self, topics: Sequence[str]) -> dict[str, TopicFacts]:
        """What `guard.transport.factory.describe_topics` reads from a real broker: the
        partition count, and `max.message.bytes` and the timestamp window as far as the
        topic's configs set them."""
        return {
            topic: topic_facts(len(self.topics[topic]), self.configs.get(topic, {}))
            for topic in topics
            if topic in self.topics
        }


class MemoryPipe:
    def __init__(self, broker: MemoryBroker, group: str) -> None:
        self.broker = broker
        self.group = group
        self.fail_next_commits = 0
        self.batch_cap: int | None = None
        # Commits that take effect and then report a failure (a timed-out commit that landed).
        self.land_then_fail_commits = 0
        self.fail_lag = False  # lag reads fail, as with a stopped broker
        self._topics: list[str] = []
        self._positions: dict[TopicPartition, int] = {}
        self._pending: list[OutRecord] | None = None
        self._uncommitted = False

    def subscribe(self, topics: Sequence[str]) -> None:
        self._topics = list(topics)
        self._rewind()

    def poll(self, max_records: int, timeout_ms: int) -> list[InRecord]:
        if self._uncommitted:  # same contract as KafkaPipe: never skip an uncommitted batch
            self._rewind()
        out: list[InRecord] = []
        for topic in self._topics:
            for p, log in enumerate(self.broker.topics.get(topic, [])):
                pos = self._positions.setdefault((topic, p), 0)
                take = log[pos : pos + max_records - len(out)]
                out.extend(take)
                self._positions[(topic, p)] = pos + len(take)
        self._uncommitted = bool(out)
        return out

    def has_assignment(self) -> bool:
        return bool(self._positions)

    def assigned(self) -> list[TopicPartition]:
        return sorted(self._positions)

    def lag(self) -> dict[TopicPartition, int]:
        if self.fail_lag:
            raise TransientTransportError("injected: end offsets unavailable")
        return {
            (t, p): len(self.broker.topics[t][p]) - pos for (t, p), pos in self._positions.items()
        }

    def group_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, tuple[int, int]]:
        if self.fail_lag:
            raise TransientTransportError("injected: group offsets unavailable")
        committed = self.broker.committed[self.group]
        return {
            (t, p): (committed.get((t, p), 0), len(log))
            for t in topics
            for p, log in enumerate(self.broker.topics.get(t, []))
        }

    def holds_records(self, spans: Mapping[TopicPartition, tuple[int, int]]) -> bool:
        return any(end > start for start, end in spans.values())  # no markers here

    def cap_batch_bytes(self, limit: int) -> None:
        self.batch_cap = limit  # recorded for tests; the fake has no batches

    def writes_to(self, topics: Sequence[str]) -> None:
        pass  # the fake's transactions never lose their markers

    def begin(self) -> None:
        self._pending = []

    def send(self, record: OutRecord) -> None:
        assert self._pending is not None, "send outside a transaction"
        self._pending.append(record)

    def send_many(self, records: Sequence[OutRecord]) -> None:
        for record in records:
            self.send(record)

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        assert self._pending is not None, "commit outside a transaction"
        if self.fail_next_commits > 0:
            self.fail_next_commits -= 1
            raise TransientTransportError("injected commit failure")
        for rec in self._pending:
            self.broker.append(rec)
        self.broker.committed[self.group].update(offsets)
        self._pending = None
        self._uncommitted = False
        if self.land_then_fail_commits > 0:
            self.land_then_fail_commits -= 1
            raise TransientTransportError("injected: commit landed, but no answer came back")

    def abort(self) -> None:
        self._pending = None
        self._rewind()

    def partition_count(self, topic: str) -> int | None:
        parts = self.broker.topics.get(topic)
        return len(parts) if parts is not None else None

    def ensure_topics(
        self,
        partitions: Mapping[str, int],
        configs: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.broker.ensure_topics(partitions, configs)

    def close(self) -> None:
        self._pending = None

    def _rewind(self) -> None:
        self._uncommitted = False
        committed = self.broker.committed[self.group]
        self._positions = {
            (t, p): committed.get((t, p), 0)
            for t in self._topics
            for p in range(len(self.broker.topics.get(t, [])))
        }


class MemoryTxSink:
    """A transactional producer over the fake (`TxSink`). With `broker.lose_commit_answer_of`, that
    commit reaches the broker but no answer comes back: the producer is abandoned (as a real
    one whose commit step ran out of time) and raises a transient error, and its records stay
    in doubt until `ready` (or the next `begin`) makes a new producer, which lands them."""

    def __init__(self, broker: MemoryBroker, transactional_id: str) -> None:
        self.broker = broker
        self.transactional_id = transactional_id
        self.batch_cap: int | None = None
        self._pending: list[OutRecord] | None = None
        self._live = False
        self.ready()

    def cap_batch_bytes(self, limit: int) -> None:
        self.batch_cap = limit  # recorded for tests; the fake has no batches

    def ready(self) -> None:
        if not self._live:
            self.broker.init_transactions(self.transactional_id)
            self._live = True

    def begin(self) -> None:
        self.ready()
        self._pending = []

    def send(self, record: OutRecord) -> None:
        assert self._pending is not None, "send outside a transaction"
        self._pending.append(record)

    def commit(self) -> None:
        assert self._pending is not None, "commit outside a transaction"
        pending, self._pending = self._pending, None
        self.broker.tx_commits += 1
        if self.broker.tx_commits == self.broker.lose_commit_answer_of:
            self.broker.in_doubt[self.transactional_id] = pending
            self._live = False  # abandoned
            raise TransientTransportError("injected: commit sent, no answer in time")
        for rec in pending:
            self.broker.append(rec)

    def abort(self) -> None:
        self._pending = None

    def close(self) -> None:
        self._pending = None
        self._live = False


class MemoryReader:
    """Reads the fake's topics up to their end (`CommittedRead`): every record there is
    committed."""

    def __init__(self, broker: MemoryBroker) -> None:
        self.broker = broker

    def snapshot(self, topic: str) -> TopicSnapshot | None:
        parts = self.broker.topics.get(topic)
        if parts is None:
            return None
        return TopicSnapshot(
            topic, dict.fromkeys(range(len(parts)), 0), {p: len(log) for p, log in enumerate(parts)}
        )

    def settled_snapshot(self, topic: str, wait_s: float) -> TopicSnapshot | None:
        return self.snapshot(topic)  # the fake has no open transactions to wait for

    def read(
        self, snapshots: Sequence[TopicSnapshot], timeout_s: float = 300.0
    ) -> Iterator[InRecord]:
        for snap in snapshots:
            for p, end in snap.end.items():
                yield from self.broker.topics[snap.topic][p][snap.start[p] : end]

    def latest(self, topic: str, timeout_s: float = 300.0) -> dict[bytes, InRecord]:
        return {rec.key: rec for rec in self.broker.records(topic) if rec.key is not None}

    def close(self) -> None:
        pass
