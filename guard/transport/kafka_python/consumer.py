"""The one way the guard builds a kafka-python consumer."""

from __future__ import annotations

from typing import Any

from kafka import KafkaConsumer

from guard.config.settings import KafkaSettings
from guard.transport.kafka_python import config, group_join, records
from guard.transport.kafka_python.errors import connecting


def committed_consumer(
    settings: KafkaSettings, fetch_bytes: int | None = None, group_id: str | None = None
) -> Any:
    """A read_committed consumer that never commits offsets by itself (see
    `config.consumer`); the record format and group join adaptations are installed first."""
    records.install()
    group_join.install()
    conf = config.consumer(settings, group_id, fetch_bytes)
    return connecting("create consumer", lambda: KafkaConsumer(**conf), settings)


def watermark_consumer(settings: KafkaSettings) -> Any:
    """A read_uncommitted consumer only ever asked for end offsets: the high watermarks,
    where a read_committed consumer's end offsets stop at the first open transaction."""
    records.install()
    conf = {**config.consumer(settings, None), "isolation_level": "read_uncommitted"}
    return connecting("create consumer", lambda: KafkaConsumer(**conf), settings)
