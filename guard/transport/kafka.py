"""`Pipe` over kafka-python: a read_committed consumer and a transactional producer.

Every broker call is bounded: kafka-python's `send_offsets_to_transaction` and
`commit_transaction` wait without a limit, so `_bounded` waits on the same transaction
result with a timeout instead. kafka-python errors are translated here, at the boundary,
into `TransientTransportError` (abort, rewind, back off, retry) or `FatalTransportError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

import kafka.errors as kerr
import structlog
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient
from kafka.producer.transaction_manager import TransactionState
from kafka.structs import OffsetAndMetadata
from kafka.structs import TopicPartition as KTopicPartition

from guard.config.settings import KafkaSettings
from guard.errors import FatalTransportError, TransientTransportError
from guard.transport.base import InRecord, OutRecord, TopicPartition

log = structlog.get_logger(__name__)
T = TypeVar("T")

_FATAL = (
    kerr.ProducerFencedError,
    kerr.InvalidProducerEpochError,
    kerr.TransactionalIdAuthorizationFailedError,
    kerr.TopicAuthorizationFailedError,
    kerr.GroupAuthorizationFailedError,
    kerr.ClusterAuthorizationFailedError,
    kerr.UnsupportedVersionError,
    kerr.UnsupportedForMessageFormatError,
    kerr.SaslAuthenticationFailedError,
)


def translate(action: str, fn: Callable[[], T]) -> T:
    """Run one kafka-python call, mapping its errors onto the guard's hierarchy."""
    try:
        return fn()
    except _FATAL as exc:
        raise FatalTransportError(f"{action}: {type(exc).__name__}: {exc}") from exc
    except kerr.KafkaError as exc:
        raise TransientTransportError(f"{action}: {type(exc).__name__}: {exc}") from exc
    except (OSError, AssertionError) as exc:  # kafka-python raises these on broken connections
        raise TransientTransportError(f"{action}: {type(exc).__name__}: {exc}") from exc


class KafkaPipe:
    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self._timeout_ms = settings.request_timeout_ms
        common = settings.client_config()
        self._consumer = translate(
            "create consumer",
            lambda: KafkaConsumer(
                **common,
                group_id=settings.group_id,
                enable_auto_commit=False,
                isolation_level="read_committed",
                auto_offset_reset="earliest",
                max_partition_fetch_bytes=settings.max_request_size,
                fetch_max_bytes=max(settings.max_request_size, 52_428_800),
            ),
        )
        self._common = common
        self._producer: Any = None
        self._futures: list[Any] = []
        # True while the consumer position is ahead of the committed offsets (a batch was
        # polled but not committed). The next poll rewinds first, whatever failed before, so
        # an uncommitted batch is never skipped.
        self._uncommitted = False
        self._new_producer()

    # -- producer lifecycle -------------------------------------------------------------

    def _new_producer(self) -> None:
        s = self.settings
        producer = translate(
            "create producer",
            lambda: KafkaProducer(
                **self._common,
                transactional_id=s.effective_transactional_id(),
                enable_idempotence=True,
                acks="all",
                max_request_size=s.max_request_size,
                transaction_timeout_ms=s.transaction_timeout_ms,
                max_block_ms=s.request_timeout_ms,
                linger_ms=5,
            ),
        )
        # Fences an earlier instance with the same id and aborts its open transaction.
        translate("init transactions", producer.init_transactions)
        self._producer = producer

    def _bounded(self, action: str, start: Callable[[], Any]) -> None:
        """Start a transaction-manager request and wait for it, but not forever."""

        def run() -> None:
            result = start()
            self._producer._sender.wakeup()
            if not result.wait(timeout_ms=self._timeout_ms):
                raise kerr.KafkaTimeoutError(f"no answer within {self._timeout_ms} ms")

        translate(action, run)

    # -- Pipe ---------------------------------------------------------------------------

    def subscribe(self, topics: Sequence[str]) -> None:
        translate("subscribe", lambda: self._consumer.subscribe(list(topics)))

    def poll(self, max_records: int, timeout_ms: int) -> list[InRecord]:
        if self._uncommitted:
            self._rewind()
            self._uncommitted = False
        batches = translate(
            "poll", lambda: self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        )
        out: list[InRecord] = []
        for records in batches.values():
            out.extend(
                InRecord(
                    r.topic, r.partition, r.offset, r.timestamp, r.key, r.value, list(r.headers)
                )
                for r in records
            )
        self._uncommitted = bool(out)
        return out

    def has_assignment(self) -> bool:
        return bool(self._consumer.assignment())

    def begin(self) -> None:
        self._futures = []
        if self._producer is None:
            self._new_producer()
        translate("begin transaction", self._producer.begin_transaction)

    def send(self, record: OutRecord) -> None:
        fut = translate(
            "send",
            lambda: self._producer.send(
                record.topic,
                value=record.value,
                key=record.key,
                headers=record.headers,
                partition=record.partition,
                timestamp_ms=record.timestamp_ms,
            ),
        )
        self._futures.append(fut)

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        translate("flush", lambda: self._producer.flush(timeout=self._timeout_ms / 1000))
        for fut in self._futures:
            if fut.failed():
                exc = fut.exception
                if isinstance(exc, _FATAL):
                    raise FatalTransportError(f"send: {type(exc).__name__}: {exc}") from exc
                raise TransientTransportError(f"send: {type(exc).__name__}: {exc}") from exc
        koffsets = {
            KTopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()
        }
        meta = translate("group metadata", self._consumer.group_metadata)
        tm = self._producer._transaction_manager
        self._bounded("send offsets", lambda: tm.send_offsets_to_transaction(koffsets, meta))
        self._bounded("commit transaction", tm.begin_commit)
        self._futures = []
        self._uncommitted = False

    def abort(self) -> None:
        self._futures = []
        if self._producer is not None:
            tm = self._producer._transaction_manager
            state = tm._current_state
            try:
                if state in (TransactionState.IN_TRANSACTION, TransactionState.ABORTABLE_ERROR):
                    self._bounded("abort transaction", tm.begin_abort)
                elif state != TransactionState.READY:
                    raise TransientTransportError(f"producer is in state {state.name}")
            except (TransientTransportError, FatalTransportError) as exc:
                # A producer stuck in a failed state cannot abort; the next `begin` makes a
                # fresh one with the same id, whose init_transactions aborts what is open.
                log.warning("abort failed; producer will be recreated", error=str(exc))
                self._close_producer()
        self._rewind()
        self._uncommitted = False

    def _rewind(self) -> None:
        """Seek every assigned partition back to its committed offset."""
        for tp in translate("assignment", self._consumer.assignment):
            committed = translate(
                "committed", partial(self._consumer.committed, tp, timeout_ms=self._timeout_ms)
            )
            if committed is None:
                self._consumer.seek_to_beginning(tp)
            else:
                self._consumer.seek(tp, committed)

    def partition_count(self, topic: str) -> int | None:
        parts = translate("metadata", lambda: self._consumer.partitions_for_topic(topic))
        return len(parts) if parts else None

    def ensure_topics(self, partitions: Mapping[str, int]) -> None:
        admin = translate("create admin client", lambda: KafkaAdminClient(**self._common))
        try:
            existing = set(translate("list topics", admin.list_topics))
            for topic, n in partitions.items():
                if topic in existing:
                    continue
                spec = {
                    topic: {
                        "num_partitions": n,
                        "replication_factor": self.settings.replication_factor,
                        "configs": {"max.message.bytes": str(self.settings.max_request_size)},
                    }
                }
                try:
                    create = partial(
                        admin.create_topics,
                        spec,
                        timeout_ms=self._timeout_ms,
                        wait_for_metadata=True,
                    )
                    translate(f"create topic {topic}", create)
                    log.info("created topic", topic=topic, partitions=n)
                except TransientTransportError as exc:
                    if isinstance(exc.__cause__, kerr.TopicAlreadyExistsError):
                        continue  # another instance won the race
                    raise
        finally:
            admin.close()

    def close(self) -> None:
        try:
            self._consumer.close(autocommit=False, timeout_ms=self._timeout_ms)
        finally:
            self._close_producer()

    def _close_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=self._timeout_ms / 1000)
            except Exception:  # closing a broken producer must not mask the real error
                log.exception("closing producer failed")
            self._producer = None
