"""A transactional confluent-kafka producer whose every call is bounded by a timeout.

Delivery failures arrive in callbacks; they are collected and raised at commit, so a batch
with one failed record is never committed. A producer that cannot abort is closed; the next
`begin` makes a fresh one with the same transactional id, whose `init_transactions` aborts
whatever was left open.

The calls of a commit that wait on the brokers (flush, send offsets, commit, abort) are bounded
(`bounded.call_bounded`): one that overruns its timeout by `_OVERRUN_MARGIN_S` abandons the
producer (never called again, not even to close it) and raises `StuckCallError`, a
`RejoinRequiredError`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, TypeVar

import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka import TopicPartition as CTopicPartition

from guard.config.settings import KafkaSettings
from guard.errors import TransientTransportError
from guard.transport.base import OutRecord, TopicPartition
from guard.transport.confluent import config
from guard.transport.confluent.bounded import StuckCallError, call_bounded, stuck_calls_pending
from guard.transport.confluent.errors import ErrorWatch, classify, classify_error, translate
from guard.transport.recreate import abort_or_recreate
from guard.transport.steps import StepLimit

log = structlog.get_logger(__name__)

# How long `send` serves delivery reports while the local queue is full, per attempt.
_QUEUE_FULL_WAIT_S = 0.1
_ANY = -1  # RD_KAFKA_PARTITION_UA: the configured partitioner chooses
# How long commit waits for the batch's delivery before sending the offsets anyway.
_FLUSH_FIRST_S = 2.0
# init_transactions waits this long at a time, then looks for a rejected login.
_INIT_SLICE_S = 1.0
# A coordinator call still running this long after its own timeout is stuck (librdkafka
# #5456, #5511): its producer is abandoned.
_OVERRUN_MARGIN_S = 5.0

T = TypeVar("T")


class ConfluentTxProducer:
    def __init__(self, settings: KafkaSettings, transactional_id: str) -> None:
        self.settings = settings
        self.transactional_id = transactional_id
        self._timeout_s = settings.request_timeout_ms / 1000
        # The timeout given to send offsets, commit and abort: short first, doubled after each
        # that timed out (guard/transport/steps.py). librdkafka waited up to 11 s on a killed
        # coordinator before failing send offsets; a new producer finds the new one itself.
        self._limit = StepLimit(settings)
        self._producer: Producer | None = None
        self._in_transaction = False
        # The first delivery failure of this batch, and the topic of the refused record.
        self._failed: tuple[KafkaError, str | None] | None = None
        self._batch_size: int | None = None  # below settings.batch_size: cap_batch_bytes
        # Which handle's delivery reports count: an abandoned one may still report later.
        self._generation = 0
        self._create()

    def cap_batch_bytes(self, limit: int) -> None:
        """librdkafka packs several records into one request up to batch.size; the broker
        refuses the whole request when it is over the topic's max.message.bytes, though every
        record fits. Lower batch.size to the limit (the producer is made anew before the
        next transaction; a record larger than it still goes alone)."""
        current = self._batch_size or self.settings.batch_size
        if limit >= current or self._in_transaction:
            return
        log.info("producer batches capped to the smallest target's limit", batch_size=limit)
        self._batch_size = limit
        self.close()

    def _create(self) -> None:
        if stuck_calls_pending(self._timeout_s):
            # Its successor's init_transactions would abort the transaction before that call
            # wrote into it, and the late write would hang (see guard.transport.confluent.bounded).
            raise TransientTransportError(
                "create producer: an abandoned producer's call has not ended yet"
            )
        watch = ErrorWatch()
        conf = config.producer(self.settings, self.transactional_id, watch)
        # One delivery callback for every record, set once (with delivery.report.only.error
        # in config.producer it runs for failures only).
        self._generation += 1
        conf["on_delivery"] = partial(self._delivered, self._generation)
        if self._batch_size is not None:
            conf["batch.size"] = self._batch_size
        producer = translate("create producer", lambda: Producer(conf))
        try:
            # Fences an earlier producer with the same id and aborts its open transaction.
            _init_transactions(producer, watch, self._timeout_s)
        except BaseException:
            _close(producer)
            raise
        self._producer = producer

    def ready(self) -> None:
        """Make the producer again if the last one was abandoned or could not be made (a
        transient error while the broker is not back)."""
        if self._producer is None:
            self._create()

    def _live(self) -> Producer:
        self.ready()
        assert self._producer is not None
        return self._producer

    def begin(self) -> None:
        producer = self._live()
        self._failed = None
        translate("begin transaction", producer.begin_transaction)
        self._in_transaction = True

    def send(self, record: OutRecord) -> None:
        self.send_many((record,))

    def send_many(self, records: Iterable[OutRecord]) -> None:
        """Hand records to librdkafka: positional arguments, no callback per record (the
        producer's one delivery callback reports failures only). A refusal names the
        record's topic: the service lowers that target's limit and retries."""
        producer = self._live()
        produce = producer.produce
        for r in records:
            p = r.partition
            try:
                # topic, value, key, partition, callback, on_delivery, timestamp (0: now), headers
                produce(r.topic, r.value, r.key, _ANY if p is None else p, None, None,
                        r.timestamp_ms or 0, r.headers)  # fmt: skip
            except BufferError:
                self._send_when_room(producer, r)
            except (KafkaException, RuntimeError, SystemError) as exc:
                raise classify("send", exc, r.topic) from exc

    def _send_when_room(self, producer: Producer, r: OutRecord) -> None:
        """The local queue is full: serve delivery reports to make room, not forever."""
        deadline = time.monotonic() + self._timeout_s
        p = _ANY if r.partition is None else r.partition
        while True:
            producer.poll(_QUEUE_FULL_WAIT_S)
            try:
                translate(
                    "send",
                    lambda: producer.produce(
                        r.topic, r.value, r.key, p, None, None, r.timestamp_ms or 0, r.headers
                    ),
                    r.topic,
                )
                return
            except TransientTransportError as exc:
                if not isinstance(exc.__cause__, BufferError) or time.monotonic() > deadline:
                    raise

    def _delivered(self, generation: int, err: KafkaError | None, msg: Message[Any, Any]) -> None:
        if generation != self._generation:
            return  # from an abandoned handle, whose batch is aborted anyway
        if err is not None and self._failed is None:
            self._failed = (err, msg.topic() if msg is not None else None)

    def commit(
        self, offsets: Mapping[TopicPartition, int] | None = None, group_metadata: Any = None
    ) -> None:
        """Commit what was sent since `begin`, with consumed `offsets` when given."""
        producer = self._live()
        if not offsets or self.settings.flush_before_offsets:
            # librdkafka is faster sending offsets after the batch is delivered
            # (kafka.flush_before_offsets). Briefly only: a flush waits its whole timeout on a
            # transaction that already failed (a broker back after an outage: "requires
            # epoch bump"), while commit_transaction, which flushes too, returns that error at
            # once; records still queued after the wait are left to it.
            wait_s = min(self._timeout_s, _FLUSH_FIRST_S)
            self._bounded("flush", lambda: producer.flush(wait_s), wait_s)
        self._raise_delivery_failure()
        if offsets:
            self._send_offsets(producer, offsets, group_metadata)
        step_s = self._limit.current_s
        self._step("commit transaction", lambda: producer.commit_transaction(step_s), step_s)
        self._raise_delivery_failure()
        self._in_transaction = False
        self._limit.committed()

    def abort_after_delivery(
        self, offsets: Mapping[TopicPartition, int], group_metadata: Any
    ) -> None:
        """Wait until what was sent is delivered, add `offsets`, then abort: the abort
        markers reach every partition written to and the group's offsets (lost_commit.py)."""
        producer = self._live()
        left = self._bounded("flush", lambda: producer.flush(self._timeout_s))
        if left:
            raise TransientTransportError(f"flush: {left} records not delivered in time")
        self._raise_delivery_failure()
        self._send_offsets(producer, offsets, group_metadata)
        self.abort()

    def _send_offsets(
        self, producer: Producer, offsets: Mapping[TopicPartition, int], group_metadata: Any
    ) -> None:
        positions = [CTopicPartition(t, p, o) for (t, p), o in offsets.items()]
        step_s = self._limit.current_s
        self._step(
            "send offsets",
            lambda: producer.send_offsets_to_transaction(positions, group_metadata, step_s),
            step_s,
        )

    def _raise_delivery_failure(self) -> None:
        if self._failed is not None:
            err, topic = self._failed
            raise classify_error(f"send to {topic}", err, topic)

    def abort(self) -> None:
        self._failed = None
        if self._producer is None or not self._in_transaction:
            return
        producer = self._producer

        def abort() -> None:
            step_s = self._limit.current_s
            self._step("abort transaction", lambda: producer.abort_transaction(step_s), step_s)
            self._in_transaction = False

        # A stuck abort is a FatalTransportError too: the producer is abandoned and a new one
        # made at once, whose init_transactions fences the stuck one and aborts its transaction.
        abort_or_recreate(abort, self.close, self._create)

    def _bounded(self, what: str, call: Callable[[], T], timeout_s: float | None = None) -> T:
        """A client call that gives up `_OVERRUN_MARGIN_S` after its own timeout (by default
        the request timeout)."""
        bound_s = (self._timeout_s if timeout_s is None else timeout_s) + _OVERRUN_MARGIN_S
        try:
            return call_bounded(what, lambda: translate(what, call), bound_s, holds_successor=True)
        except StuckCallError as exc:
            log.error("client call stuck past its timeout; abandoning the producer", call=what,
                      bound_s=bound_s, error=str(exc))  # fmt: skip
            self._abandon()
            raise

    def _step(self, what: str, call: Callable[[], T], step_s: float) -> T:
        """A coordinator call with the step limit as its timeout; one that timed out makes the
        next one wait twice as long (up to the request timeout)."""
        try:
            return self._bounded(what, call, step_s)
        except TransientTransportError as exc:
            cause = exc.__cause__
            if (
                isinstance(cause, KafkaException)
                and cause.args
                and isinstance(cause.args[0], KafkaError)
                and cause.args[0].code() == KafkaError._TIMED_OUT
            ):
                self._limit.ran_out()
            raise

    def _abandon(self) -> None:
        """Forget the handle without calling into it: a call is still running in it, and
        closing it (flush, close, or destroying it here) could block on the same lock. Its
        worker thread holds it until the call returns; its transaction is aborted by the
        successor's init_transactions (or the broker's transaction timeout)."""
        self._producer = None
        self._in_transaction = False
        self._failed = None
        self._generation += 1  # its late delivery reports are ignored

    def close(self) -> None:
        if self._producer is not None:
            _close(self._producer)
            self._producer = None
        self._in_transaction = False


def _init_transactions(producer: Producer, watch: ErrorWatch, timeout_s: float) -> None:
    """`init_transactions` within `timeout_s`, a slice at a time: between slices the client's
    errors are served, so a rejected login fails within a slice naming authentication instead
    of as `_TIMED_OUT` after the whole timeout (librdkafka resumes a timed-out init)."""
    deadline = time.monotonic() + timeout_s
    while True:
        slice_s = max(min(_INIT_SLICE_S, deadline - time.monotonic()), 0.01)
        try:
            translate("init transactions", partial(producer.init_transactions, slice_s))
            return
        except TransientTransportError:
            producer.poll(0)  # serve error_cb: a rejected login arrives there
            watch.raise_if_rejected("init transactions")
            if time.monotonic() >= deadline:
                raise


def _close(producer: Producer) -> None:
    try:
        producer.flush(0)  # serve pending callbacks
        if not hasattr(producer, "close"):
            # confluent-kafka < 2.13 has no close(): the handle is destroyed when the object
            # is freed, and an open transaction is aborted by the successor's init.
            return
        # close() aborts an open transaction and warns when it cannot (a fenced producer):
        # the successor's init_transactions aborts it anyway, so the warning becomes a log line.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            producer.close()
        for warning in caught:
            log.warning("producer closed with an open transaction", detail=str(warning.message))
    except Exception:  # closing a broken producer must not mask the real error
        log.exception("closing producer failed")
