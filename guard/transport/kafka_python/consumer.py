"""The one way the guard builds a kafka-python consumer, and reads its records."""

from __future__ import annotations

from typing import Any

from kafka import KafkaConsumer

from guard.config.settings import KafkaSettings
from guard.transport.base import InRecord
from guard.transport.kafka_python.errors import connecting
from guard.transport.kafka_python.records import RawHeaderKey


def committed_consumer(
    settings: KafkaSettings, fetch_bytes: int | None = None, group_id: str | None = None
) -> Any:
    """A read_committed consumer that never commits offsets by itself; it fetches up to
    `fetch_bytes` per partition (default: kafka.max_partition_fetch_bytes; a larger first
    batch is still returned whole). With a `group_id` it is a (static, when configured)
    group member."""
    fetch = fetch_bytes or settings.partition_fetch_bytes()
    group: dict[str, Any] = {}
    if group_id is not None:
        group = {"group_id": group_id, "session_timeout_ms": settings.session_timeout_ms}
        instance = settings.group_instance_id()
        if instance is not None:
            group["group_instance_id"] = instance
    return connecting(
        "create consumer",
        lambda: KafkaConsumer(
            **settings.client_config(),
            **settings.consumer_properties,
            **group,
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset=settings.auto_offset_reset,
            fetch_min_bytes=settings.fetch_min_bytes,
            fetch_max_wait_ms=settings.fetch_max_wait_ms,
            max_poll_records=settings.max_poll_records,
            max_partition_fetch_bytes=fetch,
            fetch_max_bytes=max(fetch, 52_428_800),
        ),
        settings,
    )


def in_record(r: Any) -> InRecord:
    """A kafka-python ConsumerRecord as the guard's InRecord; a record with a header key that
    is not UTF-8 (read by guard.transport.kafka_python.records) is marked with `header_error`."""
    headers = list(r.headers)
    error = None
    if headers:
        bad = [i for i, (k, _) in enumerate(headers) if type(k) is RawHeaderKey]
        if bad:
            error = f"header key is not valid UTF-8 (header {', '.join(map(str, bad))})"
    return InRecord(r.topic, r.partition, r.offset, r.timestamp, r.key, r.value, headers, error)
