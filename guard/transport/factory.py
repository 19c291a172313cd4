"""The one place that picks a transport by `kafka.client`: everything else asks here.

Each client lives in its own sibling module behind the seams of `guard.transport.base`;
their imports happen only when chosen, so a deployment needs only the client it uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from guard.config.settings import KafkaSettings
from guard.errors import ConfigError
from guard.transport.base import CommittedRead, Pipe, TopicFacts, TxSink

if TYPE_CHECKING:
    from guard.transport.check import Finding


def open_pipe(settings: KafkaSettings) -> Pipe:
    """The service's consume -> produce -> commit pipe."""
    if settings.client == "confluent":
        _need_confluent()
        from guard.transport.confluent.pipe import ConfluentPipe

        return ConfluentPipe(settings)
    from guard.transport.kafka_python.pipe import KafkaPipe

    return KafkaPipe(settings)


def open_reader(settings: KafkaSettings, fetch_bytes: int | None = None) -> CommittedRead:
    """A read_committed snapshot reader (replay, profiles, verification)."""
    if settings.client == "confluent":
        _need_confluent()
        from guard.transport.confluent.reader import ConfluentReader

        return ConfluentReader(settings, fetch_bytes)
    from guard.transport.kafka_python.reader import CommittedReader

    return CommittedReader(settings, fetch_bytes)


def open_tx_sink(settings: KafkaSettings, transactional_id: str) -> TxSink:
    """A transactional producer with no consumer attached."""
    if settings.client == "confluent":
        _need_confluent()
        from guard.transport.confluent.producer import ConfluentTxProducer

        return ConfluentTxProducer(settings, transactional_id)
    from guard.transport.kafka_python.producer import TxProducer

    return TxProducer(settings, transactional_id)


def ensure_topics(
    settings: KafkaSettings,
    partitions: Mapping[str, int],
    configs: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Create the missing topics; `configs` adds per-topic settings (e.g. compaction)."""
    if settings.client == "confluent":
        _need_confluent()
        from guard.transport.confluent.admin import ensure_topics as create_confluent

        create_confluent(settings, partitions, configs)
        return
    from guard.transport.kafka_python.admin import ensure_topics as create

    create(settings, partitions, configs)


def _need_confluent() -> None:
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        raise ConfigError(
            "kafka.client: 'confluent' needs confluent-kafka: pip install 'ingest-guard[confluent]'"
        ) from None


def describe_topics(settings: KafkaSettings, topics: Sequence[str]) -> dict[str, TopicFacts] | None:
    """Fresh partition counts and size limits of the topics that exist (absent: missing),
    read from the broker. (None would mean a client without an implementation: the service
    then asks its pipe for counts and knows only the producer's size limit.)"""
    if settings.client == "confluent":
        _need_confluent()
        from guard.transport.confluent.admin import describe_topics as describe_confluent

        return describe_confluent(settings, topics)
    from guard.transport.kafka_python.admin import describe_topics as describe

    return describe(settings, topics)


def check_broker(
    settings: KafkaSettings, sources: Sequence[str], outputs: Sequence[str]
) -> list[Finding]:
    """Bounded checks that the service can work with the broker (`guard config check`).
    They ask the broker, not a client's behaviour, so kafka-python (always installed) runs
    them whichever client the service uses."""
    from guard.transport.check import check_broker as check

    return check(settings, sources, outputs)
