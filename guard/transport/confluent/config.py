"""librdkafka configuration built from `KafkaSettings`, and the check of the properties
passed through to it: the one place its names appear."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import structlog
from confluent_kafka import KafkaException, Producer

from guard.config.settings import (
    RECONNECT_BACKOFF_MAX_MS,
    KafkaSettings,
    PropertyValue,
    check_tls_files,
)
from guard.logs import fold_key
from guard.transport.confluent.errors import CLIENT_LOG_FOLD, ErrorWatch
from guard.transport.properties import Role, refuse_reserved

log = structlog.get_logger("librdkafka")

# Consumers that never join a group (snapshot readers) still need a group.id in
# confluent-kafka; they only assign partitions and never commit, so the group stays unused.
READER_GROUP = "ingest-guard-reader"

# Exactly-once and the record format depend on these: never from pass-through.
OWNED = frozenset(
    {
        "group.id",
        "group.instance.id",
        "isolation.level",
        "enable.auto.commit",
        "enable.auto.offset.store",
        "transactional.id",
        "enable.idempotence",
        "acks",
        "request.required.acks",
        "enable.partition.eof",
        "partitioner",
        "max.in.flight.requests.per.connection",
        "max.in.flight",
    }
)

# Modelled by a `kafka.*` setting (the value): the pass-through must not contradict it.
MODELLED = {
    "bootstrap.servers": "bootstrap_servers",
    "metadata.broker.list": "bootstrap_servers",
    "client.id": "client_id",
    "security.protocol": "security_protocol",
    "linger.ms": "linger_ms",
    "queue.buffering.max.ms": "linger_ms",
    "batch.size": "batch_size",
    "compression.type": "compression",
    "compression.codec": "compression",
    "message.max.bytes": "max_request_size",
    "transaction.timeout.ms": "transaction_timeout_ms",
    "fetch.min.bytes": "fetch_min_bytes",
    "fetch.wait.max.ms": "fetch_max_wait_ms",
    "max.partition.fetch.bytes": "max_partition_fetch_bytes",
    "auto.offset.reset": "auto_offset_reset",
    "session.timeout.ms": "session_timeout_ms",
}

# Security properties a `kafka.*` setting also sets (the value): passed through as well, the
# pass-through would silently win, so both at once are refused.
SECURITY = {
    "ssl.ca.location": "ssl_cafile",
    "ssl.certificate.location": "ssl_certfile",
    "ssl.key.location": "ssl_keyfile",
    "ssl.key.password": "ssl_password",
    "sasl.mechanism": "sasl_mechanism",
    "sasl.mechanisms": "sasl_mechanism",
    "sasl.username": "sasl_plain_username",
    "sasl.password": "sasl_plain_password",
}

# Pass-through properties naming a TLS file, checked like the kafka.ssl_* settings, with the
# values that are not a path (`probe`: librdkafka looks for the system's CA certificates).
TLS_FILE_PROPERTIES: dict[str, frozenset[str]] = {
    "ssl.ca.location": frozenset({"probe"}),
    "ssl.certificate.location": frozenset(),
    "ssl.key.location": frozenset(),
    "ssl.crl.location": frozenset(),
    "ssl.keystore.location": frozenset(),
}

# librdkafka validates names (and values) while building its configuration, in order, before
# any client exists: a name it cannot know, placed last, shows that everything before passed.
_SENTINEL = "guard.property.check"


def check_properties(role: Role, props: Mapping[str, PropertyValue]) -> None:
    """Raise ValueError naming the first property that cannot be passed through: one the
    guard owns or models, or a name or value librdkafka refuses (it would refuse it only
    when the client is made)."""
    refuse_reserved(role, props, OWNED, MODELLED)
    if not props:
        return
    conf: dict[str, PropertyValue] = {str(k): v for k, v in props.items()}
    conf[_SENTINEL] = True
    try:
        Producer(conf)
    except KafkaException as exc:
        text = exc.args[0].str() if exc.args else str(exc)
        if _SENTINEL not in text:
            raise ValueError(f"librdkafka refuses {role} properties: {text}") from None
    else:  # pragma: no cover - the sentinel is never a librdkafka property
        raise AssertionError("librdkafka accepted an unknown property")


def common(settings: KafkaSettings, watch: ErrorWatch | None = None) -> dict[str, Any]:
    """Connection and security settings shared by producer, consumer and admin client;
    `watch` receives the client's errors (a rejected login, a broker down)."""
    check_tls_files(settings, TLS_FILE_PROPERTIES)
    conf: dict[str, Any] = {
        "bootstrap.servers": settings.bootstrap_servers,
        "client.id": settings.client_id,
        "socket.timeout.ms": settings.request_timeout_ms,
        # librdkafka backs off up to 10 s between reconnects; a broker back is used sooner.
        "reconnect.backoff.max.ms": RECONNECT_BACKOFF_MAX_MS,
        "security.protocol": settings.security_protocol.lower(),
        # librdkafka's own log lines and client-wide errors, as structured log events.
        "logger": _Log(),
        "error_cb": watch if watch is not None else ErrorWatch(),
    }
    if settings.sasl_mechanism:
        conf["sasl.mechanism"] = settings.sasl_mechanism
        if settings.sasl_plain_username is not None:
            conf["sasl.username"] = settings.sasl_plain_username
        if settings.sasl_plain_password is not None:
            conf["sasl.password"] = settings.sasl_plain_password.get_secret_value()
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        conf["ssl.endpoint.identification.algorithm"] = (
            "https" if settings.ssl_check_hostname else "none"
        )
        for ours, theirs in (
            ("ssl_cafile", "ssl.ca.location"),
            ("ssl_certfile", "ssl.certificate.location"),
            ("ssl_keyfile", "ssl.key.location"),
        ):
            value = getattr(settings, ours)
            if value is not None:
                conf[theirs] = str(value)
        if settings.ssl_password is not None:
            conf["ssl.key.password"] = settings.ssl_password.get_secret_value()
    return conf


def producer(
    settings: KafkaSettings, transactional_id: str, watch: ErrorWatch | None = None
) -> dict[str, Any]:
    return {
        **common(settings, watch),
        **settings.producer_properties,
        "transactional.id": transactional_id,
        "enable.idempotence": True,
        "acks": "all",
        # One produce request at a time per broker. With more, a first request refused
        # without being written (a partition not ready yet on a fresh topic) lets the next
        # one through: the broker takes its sequence as a new producer's first, and
        # librdkafka, seeing the later request succeed, reports the refused records as
        # delivered. The transaction then commits without them (seen: 2 of 11 records
        # missing, no error). With one in flight the refused request is retried first.
        # Each batch ends in a flush, so a batch rarely has two requests to pipeline.
        "max.in.flight.requests.per.connection": 1,
        "message.max.bytes": settings.max_request_size,
        "transaction.timeout.ms": settings.transaction_timeout_ms,
        # librdkafka refuses a socket timeout above the transaction timeout (+100 ms); the
        # calls' own timeouts stay request_timeout_ms.
        "socket.timeout.ms": min(settings.request_timeout_ms, settings.transaction_timeout_ms),
        "linger.ms": settings.linger_ms,
        "batch.size": settings.batch_size,
        "compression.type": settings.compression,
        # The producer's delivery callback hears of failures only: a batch commits when
        # none was reported (and flush/commit_transaction wait for every delivery anyway).
        "delivery.report.only.error": True,
        # The Java client's partitioner (kafka-python's too): a key lands on the same
        # partition whichever client wrote it, which compacted topics rely on.
        "partitioner": "murmur2_random",
    }


def consumer(
    settings: KafkaSettings,
    group_id: str | None,
    fetch_bytes: int | None = None,
    watch: ErrorWatch | None = None,
) -> dict[str, Any]:
    """A read_committed consumer that never commits or stores offsets by itself."""
    fetch = fetch_bytes or settings.partition_fetch_bytes()
    fetch_max = max(fetch, 52_428_800)
    conf: dict[str, Any] = {
        **common(settings, watch),
        **settings.consumer_properties,
        "group.id": group_id or READER_GROUP,
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": settings.auto_offset_reset,
        "fetch.min.bytes": settings.fetch_min_bytes,
        "fetch.wait.max.ms": settings.fetch_max_wait_ms,
        "max.partition.fetch.bytes": fetch,
        "fetch.max.bytes": fetch_max,
        # A fetch response may be a little larger than fetch.max.bytes.
        "receive.message.max.bytes": fetch_max + 1_048_576,
        "session.timeout.ms": settings.session_timeout_ms,
    }
    instance = settings.group_instance_id()
    if group_id is not None and instance is not None:
        conf["group.instance.id"] = instance
    return conf


def admin(settings: KafkaSettings) -> dict[str, Any]:
    return common(settings)


class _Log:
    """What confluent-kafka needs of a logger: `log(level, format, *args)`. Repeats (the same
    facility and text, numbers aside) are folded like the standard-library clients' lines."""

    def log(self, level: int, fmt: str, *args: Any) -> None:
        text = fmt % args if args else fmt
        dropped = CLIENT_LOG_FOLD.admit(fold_key("log", text))
        if dropped is None:
            return
        extra = {"repeated": dropped} if dropped else {}
        if level >= logging.ERROR:
            log.error("librdkafka", message=text, **extra)
        elif level >= logging.WARNING:
            log.warning("librdkafka", message=text, **extra)
        else:
            log.debug("librdkafka", message=text, **extra)
