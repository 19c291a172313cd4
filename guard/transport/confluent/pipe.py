"""`Pipe` over confluent-kafka: a read_committed group consumer and a transactional producer.

Offsets are committed only through the producer's transaction (`send_offsets_to_transaction`
with the consumer's group metadata, so a stale member is fenced, KIP-447); the consumer never
commits or stores offsets by itself.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from functools import partial

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message
from confluent_kafka import TopicPartition as CTopicPartition

from guard.config.settings import KafkaSettings
from guard.errors import RejoinRequiredError, TransientTransportError
from guard.transport.base import InRecord, OutRecord, TopicPartition
from guard.transport.confluent import admin
from guard.transport.confluent.bounded import StuckCallError, call_bounded
from guard.transport.confluent.consumer import committed_consumer
from guard.transport.confluent.errors import ErrorWatch, classify_error, translate
from guard.transport.confluent.producer import ConfluentTxProducer
from guard.transport.confluent.reader import ConfluentReader
from guard.transport.confluent.records import in_record
from guard.transport.lost_commit import (
    PROBE_S,
    UnsetPositionLook,
    abort_lost_transaction,
    every_partition,
)
from guard.transport.snapshots import MarkerProbe
from guard.transport.stale_transactions import StaleTransactionWatch

log = structlog.get_logger(__name__)

# consumer_group_metadata only copies the member's state, yet it takes the consumer group's
# lock, which a stuck coordinator request may hold (docs/reliability.md, cluster scenarios):
# still running after this long, the consumer is abandoned.
_GROUP_METADATA_BOUND_S = 5.0
# How long a dynamic member's close waits for its revoke after unsubscribing (leaving).
_LEAVE_S = 5.0


class ConfluentPipe:
    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self._markers = MarkerProbe(lambda: ConfluentReader(settings))  # holds_records
        self._timeout_s = settings.request_timeout_ms / 1000
        self._watch = ErrorWatch()
        self._consumer = committed_consumer(settings, group_id=settings.group_id, watch=self._watch)
        try:
            self._producer = ConfluentTxProducer(settings, settings.effective_transactional_id())
        except BaseException:
            self._consumer.close()
            raise
        # Set by the rebalance callbacks, which run inside poll: a batch polled across a
        # rebalance may hold records of partitions this member no longer owns, so it is
        # dropped and consumption rewound; a stale batch never commits a revoked partition.
        self._rebalanced = False
        # True while the consumer position is ahead of the committed offsets (a batch was
        # polled but not committed). The next poll rewinds first, whatever failed before, so
        # an uncommitted batch is never skipped. `_first` holds each partition's first
        # uncommitted offset, for partitions with no committed offset yet.
        self._uncommitted = False
        self._first: dict[TopicPartition, int] = {}
        self._consumer_abandoned = False  # a call stuck in it: never call it again
        self._rejoin_due: RejoinRequiredError | None = None  # found by an abort's rewind
        # The topics this member's transactions write to: a transaction the broker left open
        # is aborted in all their partitions (lost_commit.py).
        self._written: set[str] = set()
        self._unset_look = UnsetPositionLook(settings)
        self._stale = StaleTransactionWatch(settings)  # see stale_transactions.py

    def subscribe(self, topics: Sequence[str]) -> None:
        translate(
            "subscribe",
            lambda: self._consumer.subscribe(
                list(topics),
                on_assign=self._on_assign,
                on_revoke=self._on_revoke,
                on_lost=self._on_revoke,
            ),
        )

    def _on_assign(self, _consumer: Consumer, partitions: list[CTopicPartition]) -> None:
        self._rebalanced = True
        self._unset_look.postpone()
        if partitions:
            self._stale.kick()

    def _on_revoke(self, _consumer: Consumer, _partitions: list[CTopicPartition]) -> None:
        self._rebalanced = True

    def poll(self, max_records: int, timeout_ms: int) -> list[InRecord]:
        if self._rejoin_due is not None:
            raise self._rejoin_due
        if self._uncommitted:
            self._rewind()
        self._rebalanced = False
        # Take what is buffered at once; when nothing is, wait for the first record only,
        # then take what arrived with it: a batch never waits to fill up.
        msgs = translate("poll", lambda: self._consumer.consume(max_records, 0))
        if not msgs:
            first = translate("poll", lambda: self._consumer.poll(timeout_ms / 1000))
            if first is not None:
                msgs = [first]
                if max_records > 1:  # the limit may already be reached
                    try:
                        more = translate("poll", lambda: self._consumer.consume(max_records - 1, 0))
                    finally:
                        self._note_polled(msgs)  # the position is past `first` already
                    msgs += more
        # librdkafka's position is past every record handed out, even when an error event
        # later in the same list makes this poll raise: note them for the rewind first (a
        # partition without a committed offset is rewound only to its `_first`).
        self._note_polled(msgs)
        self._watch.raise_if_rejected("poll")  # error_cb ran inside the poll
        if not msgs:
            self._unset_look.maybe(self, self._unset_positions)
        # error() is None on every record; only an event (EOF, an error) takes _is_record.
        out = [in_record(m) for m in msgs if m.error() is None or self._is_record(m)]
        if self._rebalanced and out:
            return []  # rewound by the next poll, from the new assignment's committed offsets
        return out

    def _note_polled(self, msgs: Sequence[Message]) -> None:
        for m in msgs:
            if m.error() is None:
                self._first.setdefault((m.topic(), m.partition()), m.offset())
                self._uncommitted = True

    def _is_record(self, msg: Message) -> bool:
        err = msg.error()
        if err is None:
            return True
        if err.code() == KafkaError._PARTITION_EOF:
            return False
        raise classify_error("poll", err)

    def has_assignment(self) -> bool:
        return bool(translate("assignment", self._consumer.assignment))

    def lag(self) -> dict[TopicPartition, int]:
        # Bounded: a stopped broker must not hold the loop for a full request timeout.
        timeout_s = min(self._timeout_s, 5.0)
        assigned = translate("assignment", self._consumer.assignment)
        if not assigned:
            return {}
        positions = translate("position", lambda: self._consumer.position(assigned))
        unset = [tp for tp in positions if tp.offset < 0]  # nothing fetched there yet
        start: dict[TopicPartition, int] = {}
        if unset:
            committed = translate("committed", lambda: self._consumer.committed(unset, timeout_s))
            start = {(tp.topic, tp.partition): tp.offset for tp in committed}
        out: dict[TopicPartition, int] = {}
        for tp in positions:
            # With read_committed the high watermark is the last stable offset.
            low, high = translate(
                "end offsets",
                partial(self._consumer.get_watermark_offsets, tp, timeout_s, False),
            )
            position = tp.offset
            if position < 0:  # from the committed offset, else where auto_offset_reset starts
                position = start.get((tp.topic, tp.partition), -1)
                if position < 0:
                    position = low if self.settings.auto_offset_reset == "earliest" else high
            out[(tp.topic, tp.partition)] = max(high - position, 0)
        return out

    def group_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, tuple[int, int]]:
        timeout_s = min(self._timeout_s, 5.0)
        meta = translate("metadata", lambda: self._consumer.list_topics(timeout=timeout_s))
        tps = [
            CTopicPartition(t, p)
            for t in topics
            if t in meta.topics
            for p in sorted(meta.topics[t].partitions)
        ]
        if not tps:
            return {}
        committed = translate("committed", lambda: self._consumer.committed(tps, timeout_s))
        out: dict[TopicPartition, tuple[int, int]] = {}
        for tp in committed:
            low, high = translate(
                "end offsets",
                partial(
                    self._consumer.get_watermark_offsets,
                    CTopicPartition(tp.topic, tp.partition),
                    timeout_s,
                    False,
                ),
            )
            out[(tp.topic, tp.partition)] = (tp.offset if tp.offset >= 0 else low, high)
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
        self._producer.cap_batch_bytes(limit)

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        self._producer.commit(offsets, self._group_metadata())
        if offsets:  # an idle commit (observers' records only) covers no polled record
            self._uncommitted = False
            self._first.clear()

    def _group_metadata(self) -> object:
        try:
            return call_bounded(
                "group metadata",
                lambda: translate("group metadata", self._consumer.consumer_group_metadata),
                _GROUP_METADATA_BOUND_S,
            )
        except StuckCallError as exc:
            log.error("client call stuck; abandoning the consumer", call="group metadata",
                      bound_s=_GROUP_METADATA_BOUND_S, error=str(exc))  # fmt: skip
            # Not closed (close would wait on the same lock); the new consumer, with the same
            # group.instance.id, takes its place in the group.
            self._consumer_abandoned = True
            raise

    def abort(self) -> None:
        self._producer.abort()
        self._uncommitted = True  # if this rewind fails, the next poll's does it
        try:
            self._rewind()
        except RejoinRequiredError as exc:
            # An abort only reports transient failures: the next poll asks for new clients.
            self._rejoin_due = exc
            raise TransientTransportError(str(exc)) from exc

    def _rewind(self) -> None:
        """Seek every assigned partition back to its committed offset, once the producer is
        ready: a producer abandoned mid-transaction leaves the group's offsets unstable (the
        read would wait on them) until its replacement's init_transactions aborts it."""
        self._producer.ready()
        assigned = translate("assignment", self._consumer.assignment)
        if assigned:
            try:
                committed = self._read_committed(assigned)
            except TransientTransportError as exc:
                if abort_lost_transaction(self):
                    committed = self._read_committed(assigned)
                elif admin.brokers_answer(self.settings, PROBE_S):
                    # Seen after a broker restarted in place: this consumer's reads of the
                    # committed offsets timed out for good while a new client read them at
                    # once. New clients, not the outage budget spent waiting on this one.
                    raise RejoinRequiredError(
                        f"{exc}; the brokers answer a new client: replacing this consumer"
                    ) from exc
                else:
                    raise
            for tp in committed:
                if tp.error is not None:
                    raise classify_error("committed", tp.error)
                offset = tp.offset
                if offset < 0:  # nothing committed yet: back to the first polled record
                    if (tp.topic, tp.partition) not in self._first:
                        continue  # nothing polled there: the position is where it started
                    offset = self._first[(tp.topic, tp.partition)]
                target = CTopicPartition(tp.topic, tp.partition, offset)
                translate("seek", partial(self._consumer.seek, target))
        self._uncommitted = False
        self._first.clear()

    def _read_committed(self, tps: list[CTopicPartition]) -> list[CTopicPartition]:
        return translate("committed", lambda: self._consumer.committed(tps, self._timeout_s))

    def _unset_positions(self) -> list[TopicPartition]:
        assigned = translate("assignment", self._consumer.assignment)
        if not assigned:
            return []
        positions = translate("position", lambda: self._consumer.position(assigned))
        return [(tp.topic, tp.partition) for tp in positions if tp.offset < 0]

    # lost_commit.LostTransactionSide: what abort_lost_transaction reads and writes through.
    def assigned(self) -> list[TopicPartition]:
        return [
            (tp.topic, tp.partition) for tp in translate("assignment", self._consumer.assignment)
        ]

    def committed_now(self, tp: TopicPartition, timeout_s: float) -> int | None:
        (read,) = translate(
            "committed", lambda: self._consumer.committed([CTopicPartition(*tp)], timeout_s)
        )
        if read.error is not None:
            raise classify_error("committed", read.error)
        return read.offset if read.offset >= 0 else None

    def leader_answers(self, tp: TopicPartition, timeout_s: float) -> bool:
        try:
            translate(
                "end offsets",
                partial(self._consumer.get_watermark_offsets, CTopicPartition(*tp), timeout_s),
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
        self._producer.send_many(records)
        self._producer.abort_after_delivery(offsets, self._group_metadata())

    def partition_count(self, topic: str) -> int | None:
        return admin.partition_count(self._consumer, topic, self._timeout_s)

    def ensure_topics(
        self,
        partitions: Mapping[str, int],
        configs: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        admin.ensure_topics(self.settings, partitions, configs)

    def close(self) -> None:
        self._markers.close()
        try:
            if not self._consumer_abandoned:
                self._let_go_of_consumer()
        finally:
            self._producer.close()

    def _let_go_of_consumer(self) -> None:
        """Free the consumer without `close()`. That serves a final revoke through
        confluent-kafka's rebalance callback, which holds the interpreter lock while librdkafka
        may wait for ever inside it (librdkafka issues 4041 and 4884): seen here as an idle
        member's SIGTERM freezing the whole process. Freed, the handle is destroyed without a
        consumer close and without the lock. A static member does not leave the group anyway
        (its restart gets the same partitions); a dynamic one leaves by unsubscribing first,
        its revoke served by a poll like any rebalance's, so the group moves on at once."""
        if self.settings.group_instance_id() is None:
            try:
                held = bool(self._consumer.assignment())
                self._consumer.unsubscribe()
                self._rebalanced = False
                deadline = time.monotonic() + min(self._timeout_s, _LEAVE_S)
                while held and not self._rebalanced and time.monotonic() < deadline:
                    self._consumer.poll(0.1)
            except (KafkaException, RuntimeError) as exc:  # freed below all the same
                log.warning("leaving the group failed", error=str(exc))
        del self._consumer
