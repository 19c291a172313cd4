"""Topic administration: create what is missing, with bounded calls."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import kafka.errors as kerr
import structlog
from kafka.admin import KafkaAdminClient

from guard.config.settings import KafkaSettings
from guard.errors import TransientTransportError
from guard.transport.kafka_errors import connecting, translate

log = structlog.get_logger(__name__)


def ensure_topics(
    settings: KafkaSettings,
    partitions: Mapping[str, int],
    configs: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Create the missing topics; `configs` adds per-topic settings (e.g. compaction)."""
    admin = connecting(
        "create admin client", lambda: KafkaAdminClient(**settings.client_config()), settings
    )
    try:
        existing = set(translate("list topics", admin.list_topics))
        for topic, n in partitions.items():
            if topic in existing:
                continue
            topic_configs = {"max.message.bytes": str(settings.max_request_size)}
            topic_configs.update((configs or {}).get(topic, {}))
            spec = {
                topic: {
                    "num_partitions": n,
                    "replication_factor": settings.replication_factor,
                    "configs": topic_configs,
                }
            }
            create = partial(
                admin.create_topics,
                spec,
                timeout_ms=settings.request_timeout_ms,
                wait_for_metadata=True,
            )
            try:
                translate(f"create topic {topic}", create)
                log.info("created topic", topic=topic, partitions=n)
            except TransientTransportError as exc:
                if isinstance(exc.__cause__, kerr.TopicAlreadyExistsError):
                    continue  # another instance won the race
                raise
    finally:
        admin.close()
