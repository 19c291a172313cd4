"""The one place that picks a transport by `kafka.client`: everything else asks here.

Each client is a backend package with the same file per role (`guard.transport.kafka_python`,
`guard.transport.confluent`) behind the seams of `guard.transport.base`. `BACKENDS` names
them; a backend's modules are imported only when it is chosen, so a deployment needs only the
client it uses. The chosen backend also checks the properties passed through to its client
when the settings are loaded (`load_checked_settings`), before any connection.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from guard.config.settings import (
    GuardSettings,
    KafkaClient,
    KafkaSettings,
    PropertyValue,
    check_tls_files,
    load_settings,
)
from guard.errors import ConfigError
from guard.transport.base import CommittedRead, Pipe, TopicFacts, TxSink
from guard.transport.properties import Role

if TYPE_CHECKING:
    from guard.transport.check import Finding

TopicConfigs = Mapping[str, Mapping[str, str]] | None


@dataclass(frozen=True)
class Backend:
    """What the guard needs of a client library, role by role."""

    pipe: Callable[[KafkaSettings], Pipe]
    reader: Callable[[KafkaSettings, int | None], CommittedRead]
    tx_sink: Callable[[KafkaSettings, str], TxSink]
    ensure_topics: Callable[[KafkaSettings, Mapping[str, int], TopicConfigs], None]
    describe_topics: Callable[[KafkaSettings, Sequence[str]], dict[str, TopicFacts]]
    topic_id: Callable[[KafkaSettings, str], str | None]
    # Refuses (ValueError) a pass-through property the client does not know or the guard sets.
    check_properties: Callable[[Role, Mapping[str, PropertyValue]], None]
    # Pass-through properties naming a TLS file (`guard.config.settings.check_tls_files`).
    tls_file_properties: Mapping[str, Collection[str]]
    # Security properties a `kafka.*` setting also sets: never both at once.
    security: Mapping[str, str]


def _kafka_python() -> Backend:
    from guard.transport.kafka_python import admin, config, pipe, producer, reader

    return Backend(
        pipe.KafkaPipe,
        reader.CommittedReader,
        producer.TxProducer,
        admin.ensure_topics,
        admin.describe_topics,
        admin.topic_id,
        config.check_properties,
        config.TLS_FILE_PROPERTIES,
        config.SECURITY,
    )


def _confluent() -> Backend:
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        raise ConfigError(
            "kafka.client: 'confluent' needs confluent-kafka: pip install 'ingest-guard[confluent]'"
        ) from None
    from guard.transport.confluent import admin, config, pipe, producer, reader

    return Backend(
        pipe.ConfluentPipe,
        reader.ConfluentReader,
        producer.ConfluentTxProducer,
        admin.ensure_topics,
        admin.describe_topics,
        admin.topic_id,
        config.check_properties,
        config.TLS_FILE_PROPERTIES,
        config.SECURITY,
    )


BACKENDS: dict[KafkaClient, Callable[[], Backend]] = {
    "kafka-python": _kafka_python,
    "confluent": _confluent,
}


@cache
def backend(client: KafkaClient) -> Backend:
    """The chosen client's backend, its modules imported on first use."""
    return BACKENDS[client]()


def check_properties(settings: KafkaSettings) -> None:
    """The chosen client's check of `kafka.producer_properties` / `consumer_properties`,
    before any connection: ValueError "kafka.<role>_properties: <problem>" naming the first
    property it refuses. With none set the client is not even imported."""
    roles: tuple[tuple[Role, Mapping[str, PropertyValue]], ...] = (
        ("producer", settings.producer_properties),
        ("consumer", settings.consumer_properties),
    )
    for role, props in roles:
        if not props:
            continue
        try:
            client = backend(settings.client)
        except ConfigError as exc:  # the client's library is not installed
            raise ValueError(str(exc)) from None
        for name in props:
            typed = client.security.get(name)
            if typed is not None and getattr(settings, typed):
                raise ValueError(
                    f"kafka.{role}_properties: {name!r} is also set by kafka.{typed}, which it "
                    "would silently override: set it once"
                )
        try:
            client.check_properties(role, props)
        except ValueError as exc:
            raise ValueError(f"kafka.{role}_properties: {exc}") from None


def check_client_tls_files(settings: KafkaSettings) -> None:
    """`check_tls_files` with the chosen client's pass-through TLS file properties, before any
    client is configured (`guard config check`). With none passed through the client is not
    imported."""
    passed = settings.producer_properties or settings.consumer_properties
    check_tls_files(settings, backend(settings.client).tls_file_properties if passed else None)


def load_checked_settings(path: Path | str | None) -> GuardSettings:
    """`load_settings`, then the chosen client's check of its pass-through properties: how
    every command that runs, checks or reads with the service's settings loads them, so a
    bad property is a ConfigError at start-up, not a failure at the first connection."""
    return load_settings(path, check=lambda settings: check_properties(settings.kafka))


def open_pipe(settings: KafkaSettings) -> Pipe:
    """The service's consume -> produce -> commit pipe."""
    return backend(settings.client).pipe(settings)


def open_reader(settings: KafkaSettings, fetch_bytes: int | None = None) -> CommittedRead:
    """A read_committed snapshot reader (replay, profiles, verification)."""
    return backend(settings.client).reader(settings, fetch_bytes)


def open_tx_sink(settings: KafkaSettings, transactional_id: str) -> TxSink:
    """A transactional producer with no consumer attached."""
    return backend(settings.client).tx_sink(settings, transactional_id)


def ensure_topics(
    settings: KafkaSettings,
    partitions: Mapping[str, int],
    configs: TopicConfigs = None,
) -> None:
    """Create the missing topics; `configs` adds per-topic settings (e.g. compaction)."""
    backend(settings.client).ensure_topics(settings, partitions, configs)


def describe_topics(settings: KafkaSettings, topics: Sequence[str]) -> dict[str, TopicFacts] | None:
    """Fresh partition counts, size limits and timestamp windows of the topics that exist
    (absent: missing), read from the broker without creating any. (None would mean a client
    without an implementation: the service then asks its pipe for counts and knows only the
    producer's size limit.)"""
    return backend(settings.client).describe_topics(settings, topics)


def topic_id(settings: KafkaSettings, topic: str) -> str | None:
    """The topic's id (KIP-516, Kafka's text form), None when it does not exist: it tells a
    topic deleted and created again under the same name from the one before."""
    return backend(settings.client).topic_id(settings, topic)


def check_broker(
    settings: KafkaSettings, sources: Sequence[str], outputs: Sequence[str]
) -> list[Finding]:
    """Bounded checks that the service can work with the broker (`guard config check`).
    They ask the broker, not a client's behaviour, so kafka-python (always installed) runs
    them whichever client the service uses."""
    from guard.transport.check import check_broker as check

    return check(settings, sources, outputs)
