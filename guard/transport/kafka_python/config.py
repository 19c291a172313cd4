"""kafka-python configuration built from `KafkaSettings`, and the check of the properties
passed through to it: the one place its names appear."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guard.config.settings import (
    BOOTSTRAP_TIMEOUT_MAX_MS,
    RECONNECT_BACKOFF_MAX_MS,
    KafkaSettings,
    PropertyValue,
    check_tls_files,
)
from guard.transport.properties import Role, refuse_reserved

# Exactly-once and the record format depend on these: never from pass-through.
OWNED = frozenset(
    {
        "group_id",
        "group_instance_id",
        "isolation_level",
        "enable_auto_commit",
        "transactional_id",
        "enable_idempotence",
        "acks",
        "key_serializer",
        "value_serializer",
        "key_deserializer",
        "value_deserializer",
    }
)

# Modelled by a `kafka.*` setting (the value): the pass-through must not contradict it.
MODELLED = {
    "bootstrap_servers": "bootstrap_servers",
    "client_id": "client_id",
    "request_timeout_ms": "request_timeout_ms",
    "security_protocol": "security_protocol",
    "linger_ms": "linger_ms",
    "batch_size": "batch_size",
    "compression_type": "compression",
    "max_request_size": "max_request_size",
    "transaction_timeout_ms": "transaction_timeout_ms",
    "fetch_min_bytes": "fetch_min_bytes",
    "fetch_max_wait_ms": "fetch_max_wait_ms",
    "max_partition_fetch_bytes": "max_partition_fetch_bytes",
    "max_poll_records": "max_poll_records",
    "auto_offset_reset": "auto_offset_reset",
    "session_timeout_ms": "session_timeout_ms",
}

# Security properties a `kafka.*` setting also sets (the value): passed through as well, the
# pass-through would silently win, so both at once are refused.
SECURITY = {
    "ssl_cafile": "ssl_cafile",
    "ssl_certfile": "ssl_certfile",
    "ssl_keyfile": "ssl_keyfile",
    "ssl_password": "ssl_password",
    "sasl_mechanism": "sasl_mechanism",
    "sasl_plain_username": "sasl_plain_username",
    "sasl_plain_password": "sasl_plain_password",
}

# Pass-through properties naming a TLS file, checked like the kafka.ssl_* settings (none has
# a value that is not a path).
TLS_FILE_PROPERTIES: dict[str, frozenset[str]] = {
    name: frozenset() for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile", "ssl_crlfile")
}


def check_properties(role: Role, props: Mapping[str, PropertyValue]) -> None:
    """Raise ValueError naming the first property that cannot be passed through: one the
    guard owns or models, or a name kafka-python's producer or consumer does not know (it
    would refuse it only at the first connection)."""
    refuse_reserved(role, props, OWNED, MODELLED)
    from kafka import KafkaConsumer, KafkaProducer

    known = (KafkaProducer if role == "producer" else KafkaConsumer).DEFAULT_CONFIG
    for name in props:
        if name not in known:
            raise ValueError(f"kafka-python has no {role} property {name!r}")


def common(settings: KafkaSettings) -> dict[str, Any]:
    """Connection and security settings shared by producer, consumer and admin client."""
    check_tls_files(settings, TLS_FILE_PROPERTIES)
    cfg: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers.split(","),
        "client_id": settings.client_id,
        "request_timeout_ms": settings.request_timeout_ms,
        # kafka-python 3 bounds the first connection separately (30 s by default). At
        # most 5 s: a rejected login (SASL, or a TLS certificate refused) is only reported
        # when it runs out (the attempt is retried like any failure, so a slow broker only
        # costs another attempt).
        "bootstrap_timeout_ms": min(settings.request_timeout_ms, BOOTSTRAP_TIMEOUT_MAX_MS),
        # kafka-python backs off up to 30 s between reconnects: a broker back after an
        # outage would wait that long to be used again.
        "reconnect_backoff_max_ms": RECONNECT_BACKOFF_MAX_MS,
        "security_protocol": settings.security_protocol,
    }
    if settings.sasl_mechanism:
        cfg["sasl_mechanism"] = settings.sasl_mechanism
        cfg["sasl_plain_username"] = settings.sasl_plain_username
        if settings.sasl_plain_password is not None:
            cfg["sasl_plain_password"] = settings.sasl_plain_password.get_secret_value()
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        cfg["ssl_check_hostname"] = settings.ssl_check_hostname
        for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            value = getattr(settings, key)
            if value is not None:
                cfg[key] = str(value)
        if settings.ssl_password is not None:
            cfg["ssl_password"] = settings.ssl_password.get_secret_value()
    return cfg


def producer(settings: KafkaSettings, transactional_id: str) -> dict[str, Any]:
    s = settings
    return {
        **common(s),
        "transactional_id": transactional_id,
        "enable_idempotence": True,
        "acks": "all",
        "max_request_size": s.max_request_size,
        "transaction_timeout_ms": s.transaction_timeout_ms,
        "max_block_ms": s.request_timeout_ms,
        "linger_ms": s.linger_ms,
        "batch_size": s.batch_size,
        "compression_type": None if s.compression == "none" else s.compression,
        **s.producer_properties,
    }


def consumer(
    settings: KafkaSettings, group_id: str | None, fetch_bytes: int | None = None
) -> dict[str, Any]:
    """A read_committed consumer that never commits offsets by itself; it fetches up to
    `fetch_bytes` per partition (default: kafka.max_partition_fetch_bytes; a larger first
    batch is still returned whole). With a `group_id` it is a (static, when configured)
    group member."""
    fetch = fetch_bytes or settings.partition_fetch_bytes()
    group: dict[str, Any] = {}
    if group_id is not None:
        group = {"group_id": group_id, "session_timeout_ms": settings.session_timeout_ms}
        instance = settings.group_instance_id()
        if instance is not None:
            group["group_instance_id"] = instance
    return {
        **common(settings),
        **settings.consumer_properties,
        **group,
        "isolation_level": "read_committed",
        "enable_auto_commit": False,
        "auto_offset_reset": settings.auto_offset_reset,
        "fetch_min_bytes": settings.fetch_min_bytes,
        "fetch_max_wait_ms": settings.fetch_max_wait_ms,
        "max_poll_records": settings.max_poll_records,
        "max_partition_fetch_bytes": fetch,
        "fetch_max_bytes": max(fetch, 52_428_800),
    }


def admin(settings: KafkaSettings) -> dict[str, Any]:
    return common(settings)
