"""Reading an output topic's facts never creates it: a broker with auto.create.topics.enable
(Kafka's default, and the test broker's) creates a topic a client asks about by name."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from guard.config import KafkaSettings
from guard.localbroker import LocalKafka
from guard.transport.factory import describe_topics
from guard.transport.kafka_python.admin import ensure_topics

pytestmark = pytest.mark.integration


def _exists(bootstrap: str, topic: str) -> bool:
    from kafka import KafkaAdminClient  # its metadata request never creates topics

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    try:
        return topic in admin.list_topics()
    finally:
        admin.close()


def test_describing_a_missing_topic_does_not_create_it(
    kafka: LocalKafka, kafka_client: str, unique: Callable[[str], str]
) -> None:
    bootstrap = kafka.bootstrap_servers
    settings = KafkaSettings(bootstrap_servers=bootstrap, client=kafka_client)  # type: ignore[arg-type]
    there, missing = unique("there"), unique("missing")
    ensure_topics(settings, {there: 2})
    facts = describe_topics(settings, [there, missing])
    assert facts is not None and set(facts) == {there} and facts[there].partitions == 2
    # The broker creates an auto-created topic in the background (within a second here,
    # before the fix): looking too briefly would only let a regression pass, never fail a
    # correct client.
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert not _exists(bootstrap, missing), "asking about the topic created it"
        time.sleep(0.5)
