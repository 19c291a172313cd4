"""A transactional kafka-python producer whose every call is bounded.

kafka-python's `send_offsets_to_transaction` and `commit_transaction` wait without a limit,
so `_bounded` waits on the same transaction result with a timeout instead. A producer that
cannot abort (stuck or failed) is closed; the next `begin` makes a fresh one with the same
transactional id, whose `init_transactions` aborts whatever was left open.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import kafka.errors as kerr
import structlog
from kafka import KafkaProducer
from kafka.producer.transaction_manager import TransactionState
from kafka.structs import OffsetAndMetadata
from kafka.structs import TopicPartition as KTopicPartition

from guard.config.settings import KafkaSettings
from guard.errors import TransientTransportError
from guard.transport.base import OutRecord, TopicPartition
from guard.transport.kafka_python import config, records
from guard.transport.kafka_python.errors import classify, connecting, translate
from guard.transport.kafka_python.records import NULL_HEADER, NULL_VALUE_MARKER
from guard.transport.recreate import abort_or_recreate

log = structlog.get_logger(__name__)


class TxProducer:
    def __init__(self, settings: KafkaSettings, transactional_id: str) -> None:
        self.settings = settings
        self.transactional_id = transactional_id
        self._timeout_ms = settings.request_timeout_ms
        self._producer: Any = None
        self._futures: list[tuple[str, Any]] = []
        self._create()

    def _create(self) -> None:
        records.install()
        conf = config.producer(self.settings, self.transactional_id)
        s = self.settings
        producer = connecting("create producer", lambda: KafkaProducer(**conf), s)
        try:
            # Fences an earlier producer with the same id and aborts its open transaction.
            connecting("init transactions", producer.init_transactions, s)
        except BaseException:
            producer.close(timeout=0)
            raise
        self._producer = producer

    def _bounded(self, action: str, start: Callable[[], Any]) -> None:
        """Start a transaction-manager request and wait for it, but not forever."""

        def run() -> None:
            result = start()
            self._producer._sender.wakeup()
            if not result.wait(timeout_ms=self._timeout_ms):
                raise kerr.KafkaTimeoutError(f"no answer within {self._timeout_ms} ms")

        translate(action, run)

    def begin(self) -> None:
        self._futures = []
        if self._producer is None:
            self._create()
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

    def _flush(self) -> None:
        """Flush within the request timeout. kafka-python 3.0's flush raises
        UnknownError('Future not done') when a batch the broker refused as too large was split
        and re-enqueued while it waited; the halves are then in flight, so flushing again
        waits for them (until the same deadline)."""
        deadline = time.monotonic() + self._timeout_ms / 1000
        while True:
            try:
                self._producer.flush(timeout=max(0.001, deadline - time.monotonic()))
                return
            except kerr.UnknownError as exc:
                if "Future not done" not in str(exc) or time.monotonic() >= deadline:
                    raise

    def commit(
        self, offsets: Mapping[TopicPartition, int] | None = None, group_metadata: Any = None
    ) -> None:
        """Commit what was sent since `begin`, with consumed `offsets` when given."""
        translate("flush", self._flush)
        for topic, fut in self._futures:
            if fut.failed():
                raise classify(f"send to {topic}", fut.exception, topic) from fut.exception
        tm = self._producer._transaction_manager
        if offsets:
            koffsets = {
                KTopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()
            }
            self._bounded(
                "send offsets", lambda: tm.send_offsets_to_transaction(koffsets, group_metadata)
            )
        self._bounded("commit transaction", tm.begin_commit)
        self._futures = []

    def abort(self) -> None:
        self._futures = []
        if self._producer is None:
            return
        tm = self._producer._transaction_manager

        def abort() -> None:
            state = tm._current_state
            if state in (TransactionState.IN_TRANSACTION, TransactionState.ABORTABLE_ERROR):
                self._bounded("abort transaction", tm.begin_abort)
            elif state != TransactionState.READY:
                raise TransientTransportError(f"producer is in state {state.name}")

        abort_or_recreate(abort, self.close, self._create)

    def close(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=self._timeout_ms / 1000)
            except Exception:  # closing a broken producer must not mask the real error
                log.exception("closing producer failed")
            self._producer = None
