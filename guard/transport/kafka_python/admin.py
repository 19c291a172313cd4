"""Topic administration: create what is missing, with bounded calls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

import kafka.errors as kerr
import structlog
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from guard.config.settings import KafkaSettings
from guard.errors import TransientTransportError
from guard.transport.base import TopicFacts
from guard.transport.kafka_python import config
from guard.transport.kafka_python.errors import connecting, translate
from guard.transport.topic_configs import NAMES, topic_facts, topic_id_text

log = structlog.get_logger(__name__)


def ensure_topics(
    settings: KafkaSettings,
    partitions: Mapping[str, int],
    configs: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Create the missing topics; `configs` adds per-topic settings (e.g. compaction)."""
    admin = connecting(
        "create admin client", lambda: KafkaAdminClient(**config.admin(settings)), settings
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


def describe_topics(settings: KafkaSettings, topics: Sequence[str]) -> dict[str, TopicFacts]:
    """Partition counts, `max.message.bytes` and timestamp windows of the topics that exist,
    read from the broker (not a client's cache: a topic may have been deleted and re-created
    since)."""
    admin = translate("create admin client", lambda: KafkaAdminClient(**config.admin(settings)))
    try:
        described = translate("describe topics", lambda: admin.describe_topics(list(topics)))
        counts = {
            t["name"]: len(t["partitions"])
            for t in described
            if t.get("error_code", 0) == 0 and t["partitions"]
        }
        resources = [
            ConfigResource(ConfigResourceType.TOPIC, name, dict.fromkeys(NAMES)) for name in counts
        ]
        configs = translate(
            "describe topic configs",
            lambda: admin.describe_configs(resources, config_filter="all") if resources else {},
        )
        read: dict[str, dict[str, str | None]] = {
            name: {k: entries[k].get("value") for k in NAMES if k in entries}
            for name, entries in configs.get("topic", {}).items()
        }
        return {name: topic_facts(n, read.get(name)) for name, n in counts.items()}
    finally:
        admin.close()


def topic_id(settings: KafkaSettings, topic: str) -> str | None:
    """The topic's id (KIP-516), None when it does not exist or the broker gives none: a topic
    deleted and created again under the same name has a new one."""
    admin = translate("create admin client", lambda: KafkaAdminClient(**config.admin(settings)))
    try:
        described = translate("describe topics", lambda: admin.describe_topics([topic]))
    finally:
        admin.close()
    for t in described:
        if t.get("name") == topic and t.get("error_code", 0) == 0 and t.get("topic_id"):
            return topic_id_text(t["topic_id"])
    return None
