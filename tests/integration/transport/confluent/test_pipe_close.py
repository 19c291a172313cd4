"""How the confluent pipe lets go of its consumer, against the real broker."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer
from confluent_kafka import TopicPartition as CTopicPartition
from confluent_kafka.admin import AdminClient

from guard.config.settings import KafkaSettings
from guard.localbroker import LocalKafka
from guard.transport.confluent.pipe import ConfluentPipe

pytestmark = pytest.mark.integration


class _RevokeSpy(ConfluentPipe):
    revokes = 0

    def _on_revoke(self, consumer: Consumer, partitions: list[CTopicPartition]) -> None:
        self.revokes += 1
        super()._on_revoke(consumer, partitions)


def _assigned(kafka: LocalKafka, unique: Callable[[str], str], static: bool) -> _RevokeSpy:
    source = unique("src")
    settings = KafkaSettings(
        client="confluent",
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=unique("group"),
        instance_id="member-a",
        static_membership=static,
        request_timeout_ms=15_000,
    )
    pipe = _RevokeSpy(settings)
    pipe.ensure_topics({source: 1})
    pipe.subscribe([source])
    deadline = time.monotonic() + 120
    while not pipe.has_assignment():
        assert time.monotonic() < deadline, "never assigned"
        pipe.poll(max_records=1, timeout_ms=200)
    return pipe


def test_a_static_member_is_closed_without_a_final_revoke(
    kafka: LocalKafka, unique: Callable[[str], str]
) -> None:
    """confluent-kafka serves close()'s final revoke holding the interpreter lock, and once
    waited there for ever; a static member does not leave the group, so its handle is freed
    without that step."""
    pipe = _assigned(kafka, unique, static=True)
    revokes = pipe.revokes
    pipe.close()
    assert pipe.revokes == revokes


def test_a_dynamic_member_leaves_the_group_on_close(
    kafka: LocalKafka, unique: Callable[[str], str]
) -> None:
    """Without static membership the member unsubscribes (its revoke served by a poll, not by
    close()), so it leaves the group and the group moves on at once."""
    pipe = _assigned(kafka, unique, static=False)
    revokes = pipe.revokes
    pipe.close()
    assert pipe.revokes == revokes + 1
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    (described,) = admin.describe_consumer_groups([pipe.settings.group_id]).values()
    assert described.result(timeout=30).members == []
