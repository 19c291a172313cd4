"""Checks for `kafka.producer_properties` / `kafka.consumer_properties`: client settings the
guard does not model, passed through to the chosen client as they are.

A name the client does not know is refused here, at start-up, not at the first connection;
so is a name the guard owns (exactly-once depends on it) or models as a setting of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

PropertyValue = str | int | float | bool
Role = Literal["producer", "consumer"]

# Exactly-once and the record format depend on these: never from pass-through.
_OWNED = {
    "kafka-python": {
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
    },
    "confluent": {
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
    },
}

# Modelled by a `kafka.*` setting: the pass-through must not contradict it.
_MODELLED = {
    "kafka-python": {
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
    },
    "confluent": {
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
    },
}

# librdkafka validates names (and values) while building its configuration, in order, before
# any client exists: a name it cannot know, placed last, shows that everything before passed.
_SENTINEL = "guard.property.check"


def check_properties(client: str, role: Role, props: Mapping[str, PropertyValue]) -> None:
    """Raise ValueError naming the first property that cannot be passed through."""
    for name in props:
        if name in _OWNED[client]:
            raise ValueError(f"{role} property {name!r} is set by the guard and cannot be changed")
        if name in _MODELLED[client]:
            setting = _MODELLED[client][name]
            raise ValueError(f"{role} property {name!r}: use the setting kafka.{setting}")
    if client == "kafka-python":
        _check_kafka_python(role, props)
    else:
        _check_librdkafka(role, props)


def _check_kafka_python(role: Role, props: Mapping[str, PropertyValue]) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    known = (KafkaProducer if role == "producer" else KafkaConsumer).DEFAULT_CONFIG
    for name in props:
        if name not in known:
            raise ValueError(f"kafka-python has no {role} property {name!r}")


def _check_librdkafka(role: Role, props: Mapping[str, PropertyValue]) -> None:
    if not props:
        return
    try:
        from confluent_kafka import KafkaException, Producer
    except ImportError:
        raise ValueError(
            "client 'confluent' needs confluent-kafka: pip install 'ingest-guard[confluent]'"
        ) from None
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
