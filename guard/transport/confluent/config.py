"""librdkafka configuration built from `KafkaSettings`: the one place its names appear."""

from __future__ import annotations

import logging
from typing import Any

import structlog

from guard.config.settings import KafkaSettings

log = structlog.get_logger("librdkafka")

# Consumers that never join a group (snapshot readers) still need a group.id in
# confluent-kafka; they only assign partitions and never commit, so the group stays unused.
READER_GROUP = "ingest-guard-reader"


def common(settings: KafkaSettings) -> dict[str, Any]:
    """Connection and security settings shared by producer, consumer and admin client."""
    conf: dict[str, Any] = {
        "bootstrap.servers": settings.bootstrap_servers,
        "client.id": settings.client_id,
        "socket.timeout.ms": settings.request_timeout_ms,
        "security.protocol": settings.security_protocol.lower(),
        # librdkafka's own log lines and client-wide errors, as structured log events.
        "logger": _Log(),
        "error_cb": _client_error,
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


def producer(settings: KafkaSettings, transactional_id: str) -> dict[str, Any]:
    return {
        **common(settings),
        **settings.producer_properties,
        "transactional.id": transactional_id,
        "enable.idempotence": True,
        "acks": "all",
        "message.max.bytes": settings.max_request_size,
        "transaction.timeout.ms": settings.transaction_timeout_ms,
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
    settings: KafkaSettings, group_id: str | None, fetch_bytes: int | None = None
) -> dict[str, Any]:
    """A read_committed consumer that never commits or stores offsets by itself."""
    fetch = fetch_bytes or settings.partition_fetch_bytes()
    fetch_max = max(fetch, 52_428_800)
    conf: dict[str, Any] = {
        **common(settings),
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
    """What confluent-kafka needs of a logger: `log(level, format, *args)`."""

    def log(self, level: int, fmt: str, *args: Any) -> None:
        text = fmt % args if args else fmt
        if level >= logging.ERROR:
            log.error("librdkafka", message=text)
        elif level >= logging.WARNING:
            log.warning("librdkafka", message=text)
        else:
            log.debug("librdkafka", message=text)


def _client_error(err: Any) -> None:
    # Connection losses and the like: librdkafka retries them itself; calls time out if not.
    log.warning("librdkafka client error", error=str(err))
