"""The one way the guard builds a kafka-python consumer, and reads its records."""

from __future__ import annotations

from typing import Any

from kafka import KafkaConsumer

from guard.config.settings import KafkaSettings
from guard.transport.base import InRecord
from guard.transport.kafka_errors import translate
from guard.transport.kafka_records import RawHeaderKey


def committed_consumer(
    settings: KafkaSettings, fetch_bytes: int | None = None, **extra: Any
) -> Any:
    """A read_committed consumer that never commits offsets by itself; it fetches records up
    to `fetch_bytes` (default: the producer's max_request_size, so quarantine copies fit)."""
    fetch = fetch_bytes or settings.max_request_size
    return translate(
        "create consumer",
        lambda: KafkaConsumer(
            **settings.client_config(),
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=fetch,
            fetch_max_bytes=max(fetch, 52_428_800),
            **extra,
        ),
    )


def in_record(r: Any) -> InRecord:
    """A kafka-python ConsumerRecord as the guard's InRecord; a record with a header key that
    is not UTF-8 (read by guard.transport.kafka_records) is marked with `header_error`."""
    headers = list(r.headers)
    error = None
    if headers:
        bad = [i for i, (k, _) in enumerate(headers) if type(k) is RawHeaderKey]
        if bad:
            error = f"header key is not valid UTF-8 (header {', '.join(map(str, bad))})"
    return InRecord(r.topic, r.partition, r.offset, r.timestamp, r.key, r.value, headers, error)
