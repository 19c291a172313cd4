"""Topic administration over confluent-kafka's AdminClient: create what is missing, every
future and metadata call bounded by the request timeout."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from confluent_kafka import KafkaError, KafkaException, TopicCollection
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType
from confluent_kafka.cimpl import NewTopic

from guard.config.settings import KafkaSettings
from guard.errors import TransientTransportError
from guard.transport.base import TopicFacts
from guard.transport.confluent import config
from guard.transport.confluent.errors import classify, translate
from guard.transport.topic_configs import NAMES, topic_facts, topic_id_text

log = structlog.get_logger(__name__)


def partition_count(client: Any, topic: str, timeout_s: float) -> int | None:
    """Partitions of `topic` per the cluster metadata, None when it does not exist."""
    meta = translate("metadata", lambda: client.list_topics(topic, timeout=timeout_s))
    found = meta.topics.get(topic)
    if found is None or found.error is not None or not found.partitions:
        return None
    return len(found.partitions)


def brokers_answer(settings: KafkaSettings, timeout_s: float) -> bool:
    """Whether the cluster answers a metadata request from a new client within `timeout_s`
    (telling a client of ours that stopped getting answers from an outage)."""
    try:
        admin = translate("create admin client", lambda: AdminClient(config.admin(settings)))
        translate("metadata", lambda: admin.list_topics(timeout=timeout_s))
    except TransientTransportError:
        return False
    return True


def describe_topics(settings: KafkaSettings, topics: Sequence[str]) -> dict[str, TopicFacts]:
    """Partition counts, `max.message.bytes` and timestamp windows of the topics that exist,
    read from the broker (a metadata request and DescribeConfigs), not from a client's cache."""
    timeout_s = settings.request_timeout_ms / 1000
    admin = translate("create admin client", lambda: AdminClient(config.admin(settings)))
    # The whole cluster's metadata, not each topic's: librdkafka's admin client asks for a
    # named topic as a producer does, and a broker with auto.create.topics.enable (Kafka's
    # default) then creates a missing one, with its default partitions and retention.
    meta = translate("metadata", lambda: admin.list_topics(timeout=timeout_s))
    counts: dict[str, int] = {}
    for topic in topics:
        found = meta.topics.get(topic)
        if found is not None and found.error is None and found.partitions:
            counts[topic] = len(found.partitions)
    if not counts:
        return {}
    resources = [ConfigResource(ResourceType.TOPIC, topic) for topic in counts]
    futures = translate(
        "describe topic configs",
        lambda: admin.describe_configs(resources, request_timeout=timeout_s),
    )
    read: dict[str, dict[str, str | None] | None] = {}
    for resource, future in futures.items():
        try:
            entries = future.result(timeout=timeout_s)
        except (KafkaException, concurrent.futures.TimeoutError):
            read[resource.name] = None  # unknown: the producer's limit still applies
            continue
        read[resource.name] = {
            name: getattr(entries[name], "value", None) for name in NAMES if name in entries
        }
    return {topic: topic_facts(n, read.get(topic)) for topic, n in counts.items()}


def ensure_topics(
    settings: KafkaSettings,
    partitions: Mapping[str, int],
    configs: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Create the missing topics; `configs` adds per-topic settings (e.g. compaction)."""
    timeout_s = settings.request_timeout_ms / 1000
    admin = translate("create admin client", lambda: AdminClient(config.admin(settings)))
    existing = translate("list topics", lambda: admin.list_topics(timeout=timeout_s)).topics
    wanted = [
        NewTopic(
            topic,
            num_partitions=n,
            replication_factor=settings.replication_factor,
            config={
                "max.message.bytes": str(settings.max_request_size),
                **(configs or {}).get(topic, {}),
            },
        )
        for topic, n in partitions.items()
        if topic not in existing
    ]
    if not wanted:
        return
    futures = translate(
        "create topics",
        lambda: admin.create_topics(wanted, operation_timeout=timeout_s, request_timeout=timeout_s),
    )
    for topic, future in futures.items():
        try:
            future.result(timeout=timeout_s)
            log.info("created topic", topic=topic, partitions=partitions[topic])
        except KafkaException as exc:
            if exc.args and exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue  # another instance won the race
            raise classify(f"create topic {topic}", exc) from exc
        except concurrent.futures.TimeoutError as exc:
            raise TransientTransportError(f"create topic {topic}: no answer in time") from exc
    _wait_for_metadata(admin, [t.topic for t in wanted], partitions, timeout_s)


def _wait_for_metadata(
    admin: AdminClient, topics: list[str], partitions: Mapping[str, int], timeout_s: float
) -> None:
    """Until every new topic shows all its partitions: clients created next can use it."""
    deadline = time.monotonic() + timeout_s
    for topic in topics:
        while partition_count(admin, topic, timeout_s) != partitions[topic]:
            if time.monotonic() > deadline:
                raise TransientTransportError(f"topic {topic} not visible in metadata in time")
            time.sleep(0.1)


def topic_id(settings: KafkaSettings, topic: str) -> str | None:
    """The topic's id (KIP-516), None when it does not exist or the broker gives none: a topic
    deleted and created again under the same name has a new one."""
    timeout_s = settings.request_timeout_ms / 1000
    admin = translate("create admin client", lambda: AdminClient(config.admin(settings)))
    futures = translate(
        "describe topics",
        lambda: admin.describe_topics(TopicCollection([topic]), request_timeout=timeout_s),
    )
    try:
        described = futures[topic].result(timeout=timeout_s)
    except KafkaException as exc:
        err = exc.args[0] if exc.args else None
        if isinstance(err, KafkaError) and err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            return None
        raise classify("describe topics", exc) from exc
    except concurrent.futures.TimeoutError as exc:
        raise TransientTransportError(f"describe topics: timed out after {timeout_s:g} s") from exc
    return topic_id_text(str(described.topic_id)) if described.topic_id else None
