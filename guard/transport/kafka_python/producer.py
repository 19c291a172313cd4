"""A transactional kafka-python producer whose every call is bounded.

kafka-python's `send_offsets_to_transaction` and `commit_transaction` wait without a limit,
so `_bounded` waits on the same transaction result with a timeout instead. Each commit step
(flush, send offsets, commit, abort) waits at most `StepLimit` (short first, doubled from
the second step in a row that ran out): after a coordinator is killed, kafka-python's sender
keeps waiting on the dead node, step after step, while a new producer finds the new
coordinator at once. A step that runs out abandons the producer (force-closed, never waited
on again). A producer that cannot abort (stuck or failed) is replaced the same way. The pipe
calls `ready` before it rewinds to the committed offsets: a new producer's
`init_transactions` (same transactional id) fences the old one and aborts its transaction,
whose offsets the rewind would wait on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from typing import Any

import kafka.errors as kerr
import structlog
from kafka import KafkaProducer
from kafka.producer.record_accumulator import RecordAccumulator
from kafka.producer.transaction_manager import TransactionState
from kafka.structs import OffsetAndMetadata
from kafka.structs import TopicPartition as KTopicPartition

from guard.config.settings import KafkaSettings
from guard.errors import TransientTransportError
from guard.transport.base import OutRecord, TopicPartition
from guard.transport.kafka_python import config, records, txn_backoff
from guard.transport.kafka_python.errors import classify, connecting, translate
from guard.transport.kafka_python.records import NULL_HEADER, NULL_VALUE_MARKER
from guard.transport.recreate import abort_or_recreate
from guard.transport.steps import StepLimit

log = structlog.get_logger(__name__)


# Upper bounds, in bytes, on what a record batch adds around one record's key and value (the
# batch header, 61, and the record's varints, at most 36), and around one header's key and
# value (two varints): send_many sizes a record exactly only when the bound reaches the limit.
_RECORD_OVERHEAD = 128
_HEADER_OVERHEAD = 10
_OPEN = TransactionState.IN_TRANSACTION

# The first wait of a new producer's init_transactions (doubled from the second miss in a
# row, as every step limit): healthy, it takes a few hundred milliseconds.
INIT_FIRST_S = 2.0


class TxProducer:
    def __init__(self, settings: KafkaSettings, transactional_id: str) -> None:
        self.settings = settings
        self.transactional_id = transactional_id
        self._timeout_ms = settings.request_timeout_ms
        self._limit = StepLimit(settings)
        # init_transactions' own limit: a producer created while the transaction coordinator
        # is dead stays wedged on it after the new one is elected (its InitProducerId retry
        # is never sent again), while one created after the election initialises at once.
        # So a new producer is tried every INIT_FIRST_S: in a cluster run one made 5 s after
        # the kill (before the election) and the next, 5 s later, both ran out; the third
        # initialised at once, 15 s after the kill.
        self._init_limit = StepLimit(settings, first_s=INIT_FIRST_S)
        self._producer: Any = None
        self._futures: list[tuple[str, Any]] = []
        # The partitions this transaction has told the transaction manager about (send_many)
        # and one kafka-python TopicPartition per partition, made once.
        self._added: set[KTopicPartition] = set()
        self._tps: dict[TopicPartition, KTopicPartition] = {}
        # send_many: the batch each partition's next record is appended to directly, and
        # each batch appended to that way, with its topic (checked by `_deliver`).
        self._open: dict[KTopicPartition, Any] = {}
        self._direct: list[tuple[str, Any]] = []
        self._lean = False  # send_many may bypass KafkaProducer.send: on the versions read
        self._create()

    def _create(self) -> None:
        # The versions whose record code records.py adapts are those whose producer internals
        # send_many was written against.
        self._lean = records.install()
        if self._lean:
            _follow_splits()
        txn_backoff.install()
        conf = config.producer(self.settings, self.transactional_id)
        s = self.settings
        producer = connecting("create producer", lambda: KafkaProducer(**conf), s)
        try:
            # Fences an earlier producer with the same id and aborts its open transaction.
            limit_s = self._init_limit.current_s
            connecting("init transactions", lambda: _init_transactions(producer, limit_s), s)
        except BaseException as exc:
            _force_close(producer)
            if isinstance(exc.__cause__, kerr.KafkaTimeoutError):
                self._init_limit.ran_out()
            raise
        self._init_limit.committed()
        producer._accumulator._guard_splits = {}  # _follow_splits: id(batch) -> its halves
        self._producer = producer

    def _bounded(self, action: str, start: Callable[[], Any]) -> None:
        """Start a transaction-manager request and wait for it, at most the step limit."""
        limit_s = self._limit.current_s

        def run() -> None:
            result = start()
            if not _wait_nudging(self._producer, result, limit_s):
                raise kerr.KafkaTimeoutError(f"no answer within {limit_s:g} s")

        self._step(action, run)

    def _step(self, action: str, run: Callable[[], None]) -> None:
        """One commit step; when it runs out of time, the producer is abandoned."""
        try:
            translate(action, run)
        except TransientTransportError as exc:
            if isinstance(exc.__cause__, kerr.KafkaTimeoutError):
                self._abandon(action)
            raise

    def _abandon(self, action: str) -> None:
        log.warning(
            "producer step ran out of time; abandoning the producer",
            step=action,
            limit_s=self._limit.current_s,
        )
        self._limit.ran_out()
        producer, self._producer = self._producer, None
        self._forget_sent()
        if producer is not None:
            _force_close(producer)

    def _forget_sent(self) -> None:
        """What the transaction's records were sent with: done with once it ends."""
        self._futures = []
        self._open = {}
        self._direct = []
        if self._producer is not None:
            self._producer._accumulator._guard_splits.clear()

    def cap_batch_bytes(self, limit: int) -> None:
        """Nothing to do: kafka-python splits a batch the broker refuses as too large and
        sends its records again by itself."""

    def ready(self) -> None:
        """Make the producer again if the last one was abandoned or could not be made (a
        transient error while the broker is not back)."""
        if self._producer is None:
            self._create()

    def begin(self) -> None:
        self._forget_sent()
        self._added = set()
        self.ready()
        translate("begin transaction", self._producer.begin_transaction)

    def send(self, record: OutRecord) -> None:
        headers = list(record.headers)
        if any(v is None for _, v in headers):
            # kafka-python's send refuses None; NULL_HEADER is written as a null value.
            headers = [(k, NULL_HEADER if v is None else v) for k, v in headers]
        value = record.value
        if value is None and record.key is None:
            # kafka-python cannot send a record whose key and value are both null (Kafka
            # can): send an empty value and say so; readers of the quarantine restore it.
            value = b""
            headers.append((NULL_VALUE_MARKER, b"1"))
        try:
            fut = translate(
                "send",
                lambda: self._producer.send(
                    record.topic,
                    value=value,
                    key=record.key,
                    headers=headers,
                    partition=record.partition,
                    timestamp_ms=record.timestamp_ms,
                ),
                record.topic,  # a refusal names it: the service lowers its limit and retries
            )
        except ValueError as exc:
            if "Unrecognized partition" not in str(exc):
                raise
            # The topic gained or lost partitions since the producer read its metadata: a
            # topology change, not a bug. Refresh, and let the service retry the batch.
            self._producer._metadata.request_update()
            raise TransientTransportError(f"send: {exc}") from exc
        self._futures.append((record.topic, fut))

    def send_many(self, records: Iterable[OutRecord]) -> None:
        """Append records to kafka-python's accumulator as `KafkaProducer.send` does for a
        record with an explicit partition, without the per-record work that cannot change
        the outcome here: no serializers, header types the guard made itself, the partition
        added to the transaction once, the size checked exactly only when a bound says it
        may be too large (KafkaProducer.send cost ~9 us per ~250 B record, this ~5 us).
        A record with no partition, a null header value, null key and value, a partition the
        client's metadata does not know, or a size near the limit goes through `send`; every
        record does on a kafka-python version not read (records.py `_KNOWN`).

        Only a batch's first record is appended through the accumulator (which makes the
        batch and a future for the record); the next ones go straight into the batch's record
        builder, under the partition's lock, until it is full or the sender has taken it. A
        future per record (a lock, two lists and a callback each, completed one by one by
        the sender thread) cost ~6 us of the ~8 us an append took; the first record's future
        fails whenever its batch does (`_deliver`)."""
        producer = self._producer
        if producer is None or producer._closed or not self._lean:
            for r in records:
                self.send(r)
            return
        metadata, accumulator = producer._metadata, producer._accumulator
        tm = producer._transaction_manager
        limit = producer.config["max_request_size"] - _RECORD_OVERHEAD
        known: dict[str, Any] = {}  # topic -> the partitions the client's metadata knows
        added, tps, futures = self._added, self._tps, self._futures
        open_batches = self._open
        # Batches already delivered need no check at commit: let their buffers go.
        direct = self._direct = [(t, b) for t, b in self._direct if not _delivered(b)]
        tp_lock, queues = accumulator._tp_lock, accumulator._batches
        topic = ""
        # What accumulator.append counts: a forced close waits for appends in progress.
        accumulator._appends_in_progress.increment()
        try:
            for r in records:
                topic, p, key, value, headers = r.topic, r.partition, r.key, r.value, r.headers
                if p is None or (key is None and value is None):
                    self.send(r)
                    continue
                parts = known.get(topic)
                if parts is None:
                    parts = known[topic] = metadata.partitions_for_topic(topic) or ()
                size = (0 if key is None else len(key)) + (0 if value is None else len(value))
                for k, v in headers:
                    if type(v) is not bytes:
                        # None (kafka-python sizes header values with len), or a type `send`
                        # refuses: `send` decides.
                        size = limit + 1
                        break
                    size += 4 * len(k) + len(v) + _HEADER_OVERHEAD
                if p not in parts or size > limit:
                    self.send(r)  # waits for the topic's metadata when the client lacks it
                    known.pop(topic)  # read again for the next record
                    continue
                tp = tps.get((topic, p))
                if tp is None:
                    tp = tps[(topic, p)] = KTopicPartition(topic, p)
                if tp not in added:
                    tm.maybe_add_partition_to_transaction(tp)
                    added.add(tp)
                elif tm._current_state is not _OPEN:
                    # What `send` refuses before every record: after an epoch bump the
                    # transaction is over (READY) and a record appended now would wait in
                    # the accumulator and go out with the next transaction.
                    tm._fail_if_not_ready_for_send()
                batch = open_batches.get(tp)
                if batch is not None:
                    with tp_lock(tp):
                        # Only into the partition's last batch: a record `send` took may
                        # have started a newer one (order), and a drained batch's builder
                        # is closed (None).
                        queue = queues[tp]
                        meta = (
                            batch.records.append(r.timestamp_ms, key, value, headers)
                            if queue and queue[-1] is batch
                            else None
                        )
                    if meta is not None:
                        if meta.size > batch.max_record_size:  # the client's metric
                            batch.max_record_size = meta.size
                        continue
                fut, full, new_batch, _ = accumulator.append(
                    tp, r.timestamp_ms, key, value, headers, abort_on_new_batch=False
                )
                futures.append((topic, fut))
                with tp_lock(tp):
                    queue = queues[tp]
                    batch = queue[-1] if queue else None
                if batch is not None and batch.produce_future is fut._produce_future:
                    open_batches[tp] = batch
                    direct.append((topic, batch))
                else:  # already taken by the sender: the next record starts a batch
                    open_batches.pop(tp, None)
                if full or new_batch:
                    producer._sender.wakeup()
        except (kerr.KafkaError, OSError, AssertionError) as exc:
            raise classify("send", exc, topic) from exc
        finally:
            accumulator._appends_in_progress.decrement()

    def _flush(self) -> None:
        """Flush within the step limit while the transaction coordinator has not confirmed
        the batch's partitions (AddPartitionsToTxn: a dead coordinator wedges the producer),
        within the request timeout once it has (the records wait on partition leaders, and
        the client re-routes them after an election). kafka-python 3.0's flush raises
        UnknownError('Future not done') when a batch the broker refused as too large was split
        and re-enqueued while it waited; the halves are then in flight, so flushing again
        waits for them (until the same deadline)."""
        started = time.monotonic()
        step_deadline = started + self._limit.current_s
        deadline = started + self._timeout_ms / 1000
        tm = self._producer._transaction_manager
        while True:
            now = time.monotonic()
            until = step_deadline if tm.has_partitions_to_add() else deadline
            try:
                self._producer.flush(timeout=max(0.001, min(until, now + 1.0) - now))
                return
            except kerr.KafkaTimeoutError:
                if time.monotonic() >= until:
                    raise
            except kerr.UnknownError as exc:
                if "Future not done" not in str(exc) or time.monotonic() >= deadline:
                    raise

    def commit(
        self, offsets: Mapping[TopicPartition, int] | None = None, group_metadata: Any = None
    ) -> None:
        """Commit what was sent since `begin`, with consumed `offsets` when given."""
        self._deliver(offsets, group_metadata)
        tm = self._producer._transaction_manager
        self._bounded("commit transaction", tm.begin_commit)
        self._forget_sent()
        self._limit.committed()

    def abort_after_delivery(
        self, offsets: Mapping[TopicPartition, int], group_metadata: Any
    ) -> None:
        """Wait until what was sent is delivered, add `offsets`, then abort: the abort
        markers reach every partition written to and the group's offsets (lost_commit.py)."""
        self._deliver(offsets, group_metadata)
        self.abort()

    def _deliver(self, offsets: Mapping[TopicPartition, int] | None, group_metadata: Any) -> None:
        """Flush what was sent (failures raised), then send `offsets` into the transaction."""
        self._step("flush", self._flush)
        for topic, fut in self._futures:
            if fut.failed():
                raise classify(f"send to {topic}", fut.exception, topic) from fut.exception
        # The records appended straight into a batch have no futures: the batch says.
        splits = self._producer._accumulator._guard_splits
        for topic, batch in self._direct:
            failure = _failure_of(batch, splits)
            if failure is not None:
                raise classify(f"send to {topic}", failure, topic) from failure
        if offsets:
            tm = self._producer._transaction_manager
            koffsets = {
                KTopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()
            }
            self._bounded(
                "send offsets", lambda: tm.send_offsets_to_transaction(koffsets, group_metadata)
            )

    def abort(self) -> None:
        self._forget_sent()
        if self._producer is None:
            return  # abandoned: `ready` makes the next one
        tm = self._producer._transaction_manager

        def abort() -> None:
            state = tm._current_state
            if state in (TransactionState.IN_TRANSACTION, TransactionState.ABORTABLE_ERROR):
                self._bounded("abort transaction", tm.begin_abort)
            elif state != TransactionState.READY:
                raise TransientTransportError(f"producer is in state {state.name}")
            elif self._producer._accumulator.has_incomplete:
                # READY with records still held: the transaction ended under them (an epoch
                # bump); kept, they would be sent and committed by the next transaction.
                raise TransientTransportError("records left from a transaction that ended")

        abort_or_recreate(abort, self._close_now, self._create)

    def _close_now(self) -> None:
        """After a failed abort: no flush of what the old producer holds."""
        if self._producer is not None:
            _force_close(self._producer)
            self._producer = None

    def close(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=self._timeout_ms / 1000)
            except Exception:  # closing a broken producer must not mask the real error
                log.exception("closing producer failed")
            self._producer = None


# How often a wait wakes the producer's sender thread. After a coordinator lookup that found
# the dead node, a sender was seen silent for 15 s with its retried request still queued; a
# wake-up is cheap (it does not help while the cluster has not moved the coordinator yet).
_NUDGE_S = 0.25


def _wait_nudging(producer: Any, result: Any, limit_s: float) -> bool:
    """Wait for a transaction-manager result up to `limit_s`, waking the sender between
    slices; whether it is done."""
    deadline = time.monotonic() + limit_s
    while True:
        producer._sender.wakeup()
        left = deadline - time.monotonic()
        if result.wait(timeout_ms=max(1.0, min(left, _NUDGE_S) * 1000)):
            return True
        if time.monotonic() >= deadline:
            return False


def _init_transactions(producer: Any, limit_s: float) -> None:
    """`init_transactions` within `limit_s`, in slices that wake the sender. A slice's
    timeout lets the same request go on waiting; any other error ends the attempt."""
    deadline = time.monotonic() + limit_s
    max_block_ms = producer.config["max_block_ms"]
    producer.config["max_block_ms"] = _NUDGE_S * 1000
    try:
        while True:
            producer._sender.wakeup()
            try:
                producer.init_transactions()
                return
            except kerr.KafkaTimeoutError:
                if time.monotonic() >= deadline:
                    raise kerr.KafkaTimeoutError(
                        f"transactional state not initialised within {limit_s:g} s"
                    ) from None
    finally:
        producer.config["max_block_ms"] = max_block_ms  # send waits as configured


def _delivered(batch: Any) -> bool:
    """Done, and with no failure (a split batch is not done: its halves are checked)."""
    return bool(batch.produce_future.is_done) and _failure_of(batch, {}) is None


def _failure_of(batch: Any, splits: Mapping[int, list[Any]]) -> BaseException | None:
    """Why `batch` (or a batch it was split into) was not delivered; None when it was. A
    batch's produce future always succeeds: a failure is its record-errors function."""
    pending = [batch]
    while pending:
        b = pending.pop()
        done = b.produce_future
        if not done.is_done:
            halves = splits.get(id(b))
            if halves is None:  # after a flush, every batch is delivered, failed or split
                lost: BaseException = kerr.KafkaError(f"a batch for {b.topic_partition} hangs")
                return lost
            pending.extend(halves)
        elif done.exception is not None:
            return done.exception  # type: ignore[no-any-return]
        elif done.value[2] is not None:
            return done.value[2](0)  # type: ignore[no-any-return]
    return None


def _follow_splits() -> None:
    """kafka-python's sender splits a batch the broker refused as too large into new batches
    and moves the records' futures onto them; records send_many appended without one would
    be followed by nobody. So the accumulator notes each split batch's halves (under
    `_guard_splits`, which TxProducer gives its producer's accumulator), for `_failure_of`.
    Installed once, on the kafka-python versions send_many was written against."""
    original = RecordAccumulator.split_and_reenqueue
    if getattr(original, "_guard_follows", False):
        return

    def split_and_reenqueue(self: Any, batch: Any, now: float | None = None) -> int:
        n: int = original(self, batch, now)
        splits = getattr(self, "_guard_splits", None)
        if splits is not None:
            tp = batch.topic_partition
            with self._tp_lock(tp):  # the halves are the first n of the queue: put there last
                splits[id(batch)] = list(islice(self._batches[tp], n))
            # What moving a future onto a half does: wake a flush waiting on this batch, to
            # wait on the halves (a batch holding only direct appends has no future to move,
            # and the flush slept out its wait: 1 s per commit).
            batch.produce_future._latch.set()
        return n

    split_and_reenqueue._guard_follows = True  # type: ignore[attr-defined]
    RecordAccumulator.split_and_reenqueue = split_and_reenqueue


def _force_close(producer: Any) -> None:
    """Close without waiting: its sender thread is stopped (it may still be inside a wait on
    a dead node, and ends when that returns); whatever it held is given up."""
    try:
        producer._sender.force_close()
        producer.close(timeout=0)
    except kerr.KafkaTimeoutError:
        pass  # close's flush(0) of the records it held: given up, as intended
    except Exception:  # closing a broken producer must not mask the real error
        log.debug("force-closing producer failed", exc_info=True)
