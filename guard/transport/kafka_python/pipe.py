"""`Pipe` over kafka-python: a read_committed group consumer and a transactional producer.

Offsets are committed only through the producer's transaction (`send_offsets_to_transaction`
with the consumer's group metadata, so a stale instance is fenced, KIP-447); the consumer
never auto-commits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import structlog
from kafka import ConsumerRebalanceListener
from kafka.structs import TopicPartition as KTopicPartition

from guard.config.settings import KafkaSettings
from guard.errors import RejoinRequiredError, TransientTransportError
from guard.transport.base import InRecord, OutRecord, TopicPartition
from guard.transport.kafka_python.admin import ensure_topics
from guard.transport.kafka_python.consumer import committed_consumer
from guard.transport.kafka_python.errors import translate
from guard.transport.kafka_python.producer import TxProducer
from guard.transport.kafka_python.reader import CommittedReader
from guard.transport.kafka_python.records import in_record
from guard.transport.lost_commit import (
    UnsetPositionLook,
    abort_lost_transaction,
    every_partition,
)
from guard.transport.snapshots import MarkerProbe
from guard.transport.stale_transactions import StaleTransactionWatch

log = structlog.get_logger(__name__)


class KafkaPipe:
    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self._markers = MarkerProbe(lambda: CommittedReader(settings))  # holds_records
        self._timeout_ms = settings.request_timeout_ms
        self._consumer: Any = committed_consumer(settings, group_id=settings.group_id)
        try:
            self._producer = TxProducer(settings, settings.effective_transactional_id())
        except BaseException:
            self._consumer.close(autocommit=False, timeout_ms=self._timeout_ms)
            raise
        # True while the consumer position is ahead of the committed offsets (a batch was
        # polled but not committed). The next poll rewinds first, whatever failed before, so
        # an uncommitted batch is never skipped.
        self._uncommitted = False
        # Where each assigned partition stood before the uncommitted polls took anything: the
        # rewind target of a partition without a committed offset (its log start would re-read
        # records auto_offset_reset=latest skipped). None: no position yet (being reset).
        self._before: dict[KTopicPartition, int | None] = {}
        # The topics this member's transactions write to: a transaction the broker left open
        # is aborted in all their partitions (lost_commit.py).
        self._written: set[str] = set()
        self._unset_look = UnsetPositionLook(settings)
        # A dead member's transaction holding the offsets of partitions assigned here is ended
        # once past its timeout, while the consumer's poll waits on it (stale_transactions.py).
        self._stale = StaleTransactionWatch(settings)

    def subscribe(self, topics: Sequence[str]) -> None:
        listener = _OnAssign(self._stale.kick)
        translate("subscribe", lambda: self._consumer.subscribe(list(topics), listener=listener))

    def poll(self, max_records: int, timeout_ms: int) -> list[InRecord]:
        if self._uncommitted:
            self._rewind()
        subscription = self._consumer._subscription
        for tp, state in list(subscription.assignment.items()):
            if tp not in self._before:
                self._before[tp] = None if state.position is None else state.position.offset
        # Until this poll returns, the consumer may move past records it never hands out (a
        # poll that raises after its fetcher drained them): rewound by the next poll or abort.
        self._uncommitted = True
        batches = translate(
            "poll", lambda: self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        )
        out: list[InRecord] = []
        for records in batches.values():
            out.extend(in_record(r) for r in records)
        self._uncommitted = bool(out)
        if not out:
            self._unset_look.maybe(self, self._unset_positions)
        return out

    def has_assignment(self) -> bool:
        return bool(self._consumer.assignment())

    def lag(self) -> dict[TopicPartition, int]:
        # Bounded: a stopped broker must not hold the loop for a full request timeout.
        timeout_ms = min(self._timeout_ms, 5000)
        assigned = list(translate("assignment", self._consumer.assignment))
        if not assigned:
            return {}
        ends = translate(
            "end offsets", partial(self._consumer.end_offsets, assigned, timeout_ms=timeout_ms)
        )
        out: dict[TopicPartition, int] = {}
        for tp in assigned:
            position = translate(
                "position", partial(self._consumer.position, tp, timeout_ms=timeout_ms)
            )
            if position is None:
                # No fetch position yet: its committed offset is held by a dead member's open
                # transaction (or still being fetched); its lag is unknown until then.
                continue
            out[(tp.topic, tp.partition)] = max(ends[tp] - position, 0)
        return out

    def group_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, tuple[int, int]]:
        timeout_ms = min(self._timeout_ms, 5000)
        tps = [
            KTopicPartition(t, p)
            for t in topics
            for p in sorted(
                translate("metadata", partial(self._consumer.partitions_for_topic, t)) or ()
            )
        ]
        if not tps:
            return {}
        starts = translate(
            "start offsets",
            partial(self._consumer.beginning_offsets, tps, timeout_ms=timeout_ms),
        )
        ends = translate(
            "end offsets", partial(self._consumer.end_offsets, tps, timeout_ms=timeout_ms)
        )
        out: dict[TopicPartition, tuple[int, int]] = {}
        for tp in tps:
            at = translate(
                "committed", partial(self._consumer.committed, tp, timeout_ms=timeout_ms)
            )
            out[(tp.topic, tp.partition)] = (starts[tp] if at is None else at, ends[tp])
        return out

    def holds_records(self, spans: Mapping[TopicPartition, tuple[int, int]]) -> bool:
        return self._markers.holds_records(spans)

    def begin(self) -> None:
        self._producer.begin()

    def writes_to(self, topics: Sequence[str]) -> None:
        self._written.update(topics)

    def send(self, record: OutRecord) -> None:
        self._written.add(record.topic)
        self._producer.send(record)

    def send_many(self, records: Sequence[OutRecord]) -> None:
        self._written.update({r.topic for r in records})
        self._producer.send_many(records)

    def cap_batch_bytes(self, limit: int) -> None:
        """Nothing to do: kafka-python splits a batch the broker refuses as too large and
        sends its records again by itself."""

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        meta = translate("group metadata", self._consumer.group_metadata)
        if offsets and (meta.generation_id < 0 or not meta.member_id):
            # The consumer fell out of the group since this batch was polled (its heartbeat
            # got UNKNOWN_MEMBER_ID, or max_poll_interval_ms ran out and it left): kafka-python
            # then resets the generation to -1 and the member id to "", and the broker accepts
            # a transactional offset commit carrying neither without any check, even while
            # other members own these partitions. Never commit as nobody.
            raise RejoinRequiredError(
                f"commit: the consumer is no longer a group member (generation "
                f"{meta.generation_id}, member {meta.member_id!r}); batch not committed"
            )
        self._producer.commit(offsets, meta)
        if offsets:
            self._uncommitted = False
            self._before.clear()

    def abort(self) -> None:
        self._uncommitted = True  # a rewind that fails here is done by the next poll
        self._producer.abort()
        self._rewind()

    def _rewind(self) -> None:
        """Seek every assigned partition back to its committed offset, once the producer is
        ready: a producer abandoned mid-transaction leaves the group's offsets unstable (the
        read would wait on them) until its replacement's init_transactions aborts it."""
        self._producer.ready()
        assigned = list(translate("assignment", self._consumer.assignment))
        try:
            read = [(tp, self._read_committed(tp)) for tp in assigned]
        except TransientTransportError:
            if not abort_lost_transaction(self):
                raise
            read = [(tp, self._read_committed(tp)) for tp in assigned]
        for tp, committed in read:
            if committed is not None:
                self._consumer.seek(tp, committed)
            elif self._before.get(tp) is not None:
                self._consumer.seek(tp, self._before[tp])
            else:  # no position was known before the polls: from the log start, skip nothing
                self._consumer.seek_to_beginning(tp)
        self._before.clear()
        self._uncommitted = False

    def _read_committed(self, tp: KTopicPartition) -> int | None:
        committed: int | None = translate(
            "committed", partial(self._consumer.committed, tp, timeout_ms=self._timeout_ms)
        )
        return committed

    def _unset_positions(self) -> list[TopicPartition]:
        missing = self._consumer._subscription.missing_fetch_positions()
        return [(tp.topic, tp.partition) for tp in missing]

    # lost_commit.LostTransactionSide: what abort_lost_transaction reads and writes through.
    def assigned(self) -> list[TopicPartition]:
        return [
            (tp.topic, tp.partition) for tp in translate("assignment", self._consumer.assignment)
        ]

    def committed_now(self, tp: TopicPartition, timeout_s: float) -> int | None:
        committed: int | None = translate(
            "committed",
            partial(
                self._consumer.committed, KTopicPartition(*tp), timeout_ms=int(timeout_s * 1000)
            ),
        )
        return committed

    def leader_answers(self, tp: TopicPartition, timeout_s: float) -> bool:
        ktp = KTopicPartition(*tp)
        try:
            translate(
                "end offsets",
                partial(self._consumer.end_offsets, [ktp], timeout_ms=int(timeout_s * 1000)),
            )
        except TransientTransportError:
            return False
        return True

    def written_partitions(self) -> list[TopicPartition]:
        return every_partition(self._written, self.partition_count)

    def abort_writing(
        self, records: Sequence[OutRecord], offsets: Mapping[TopicPartition, int]
    ) -> None:
        self._producer.begin()
        for record in records:
            self._producer.send(record)
        meta = translate("group metadata", self._consumer.group_metadata)
        self._producer.abort_after_delivery(offsets, meta)

    def partition_count(self, topic: str) -> int | None:
        parts = translate("metadata", lambda: self._consumer.partitions_for_topic(topic))
        return len(parts) if parts else None

    def ensure_topics(
        self,
        partitions: Mapping[str, int],
        configs: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        ensure_topics(self.settings, partitions, configs)

    def close(self) -> None:
        self._markers.close()
        try:
            self._consumer.close(autocommit=False, timeout_ms=self._timeout_ms)
        finally:
            self._producer.close()


class _OnAssign(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, assigned: Callable[[], None]) -> None:
        self._assigned = assigned

    def on_partitions_revoked(self, revoked: object) -> None:
        pass

    def on_partitions_assigned(self, assigned: object) -> None:
        if assigned:
            self._assigned()
