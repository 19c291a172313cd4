"""`guard config check --connect` over kafka-python: can the service work with this broker?

Each step is bounded (the settings' request timeout, capped by the caller) and reported as
a line, never with a secret: the broker answers and authenticates us; the source topics
exist and can be described; the output topics exist or will be created; the consumer group
can be described; a transactional producer can initialise (the service's write permission).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import kafka.errors as kerr
from kafka.admin import KafkaAdminClient

from guard.config.settings import KafkaSettings
from guard.errors import FatalTransportError, TransientTransportError
from guard.transport.kafka_python import config
from guard.transport.kafka_python.errors import connecting, translate

UNKNOWN_TOPIC, TOPIC_AUTHORIZATION_FAILED = 3, 29


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str


def check_broker(
    settings: KafkaSettings, sources: Sequence[str], outputs: Sequence[str]
) -> list[Finding]:
    """Raises TransportError when the broker cannot be reached or refuses the login."""
    out: list[Finding] = []
    admin = connecting("connect", lambda: KafkaAdminClient(**config.admin(settings)), settings)
    try:
        cluster = translate("describe cluster", admin.describe_cluster)
        brokers = len(cluster.get("brokers", []))
        out.append(Finding("broker", True, f"{brokers} broker(s) answered and accepted the login"))
        described = translate(
            "describe topics", lambda: admin.describe_topics([*sources, *outputs])
        )
        by_name: dict[str, Any] = {t["name"]: t for t in described}
        for topic in sources:
            out.append(_topic_finding("source topic", topic, by_name.get(topic), must_exist=True))
        for topic in outputs:
            finding = _topic_finding("output topic", topic, by_name.get(topic), must_exist=False)
            if finding.detail == "missing" and not settings.create_topics:
                finding = Finding(finding.check, False, "missing and kafka.create_topics is off")
            elif finding.detail == "missing":
                finding = Finding(finding.check, True, "missing; the service will create it")
            out.append(finding)
        out.append(_permission("consumer group", lambda: _describe_group(admin, settings)))
    finally:
        admin.close()
    out.append(_permission("transactions", lambda: _transactions(settings)))
    return out


def _permission(check: str, fn: Callable[[], object]) -> Finding:
    """A step that only a missing permission should fail: reported, not raised."""
    try:
        fn()
    except FatalTransportError as exc:
        if isinstance(exc.__cause__, kerr.AuthorizationError):
            return Finding(check, False, f"not authorized ({type(exc.__cause__).__name__})")
        raise
    return Finding(check, True, _DONE[check])


_DONE = {
    "consumer group": "the group can be described",
    "transactions": "a transactional producer initialised",
}


def _describe_group(admin: Any, settings: KafkaSettings) -> None:
    """Retried within the request timeout: the group coordinator may still be loading (the
    offsets topic is created on first use)."""
    deadline = time.monotonic() + settings.request_timeout_ms / 1000
    while True:
        try:
            translate("describe group", lambda: admin.describe_groups([settings.group_id]))
            return
        except TransientTransportError:
            if time.monotonic() + 0.5 > deadline:
                raise
            time.sleep(0.5)


def _topic_finding(kind: str, topic: str, meta: Any, must_exist: bool) -> Finding:
    check = f"{kind} {topic}"
    code = meta.get("error_code", UNKNOWN_TOPIC) if meta else UNKNOWN_TOPIC
    if code == 0:
        return Finding(check, True, f"{len(meta.get('partitions', []))} partition(s)")
    if code == TOPIC_AUTHORIZATION_FAILED:
        return Finding(check, False, "not authorized to describe it")
    if code == UNKNOWN_TOPIC:
        return Finding(check, not must_exist, "missing")
    return Finding(check, False, f"broker error code {code}")


def _transactions(settings: KafkaSettings) -> None:
    """A throw-away transactional id: checks the write permission without fencing the
    running service's producer."""
    from guard.transport.kafka_python.producer import TxProducer

    tx_id = f"{settings.effective_transactional_id()}-check-{uuid.uuid4().hex[:8]}"
    TxProducer(settings, tx_id).close()
