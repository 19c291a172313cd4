"""The one way the guard builds a confluent-kafka consumer."""

from __future__ import annotations

from confluent_kafka import Consumer

from guard.config.settings import KafkaSettings
from guard.transport.confluent import config
from guard.transport.confluent.errors import ErrorWatch, translate


def committed_consumer(
    settings: KafkaSettings,
    fetch_bytes: int | None = None,
    group_id: str | None = None,
    *,
    partition_eof: bool = False,
    watch: ErrorWatch | None = None,
) -> Consumer:
    """A read_committed consumer that never commits or stores offsets by itself (see
    `config.consumer`); with `partition_eof` it reports reaching each partition's end; `watch`
    receives the client's errors."""
    conf = config.consumer(settings, group_id, fetch_bytes, watch=watch)
    if partition_eof:
        conf["enable.partition.eof"] = True
    return translate("create consumer", lambda: Consumer(conf))


def watermark_consumer(settings: KafkaSettings) -> Consumer:
    """A read_uncommitted consumer only ever asked for watermarks: the high watermarks,
    where a read_committed consumer's stop at the first open transaction."""
    conf = {**config.consumer(settings, None), "isolation.level": "read_uncommitted"}
    return translate("create consumer", lambda: Consumer(conf))
