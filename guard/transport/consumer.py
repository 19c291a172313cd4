"""The one way the guard builds a kafka-python consumer, and reads its records."""

from __future__ import annotations

from typing import Any

from kafka import KafkaConsumer

from guard.config.settings import KafkaSettings
from guard.transport.base import InRecord
from guard.transport.kafka_errors import connecting


def committed_consumer(
    settings: KafkaSettings, fetch_bytes: int | None = None, **extra: Any
) -> Any:
    """A read_committed consumer that never commits offsets by itself; it fetches records up
    to `fetch_bytes` (default: the producer's max_request_size, so quarantine copies fit)."""
    fetch = fetch_bytes or settings.max_request_size
    return connecting(
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
        settings,
    )


def in_record(r: Any) -> InRecord:
    """A kafka-python ConsumerRecord as the guard's InRecord."""
    return InRecord(r.topic, r.partition, r.offset, r.timestamp, r.key, r.value, list(r.headers))
