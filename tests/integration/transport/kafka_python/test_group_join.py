"""kafka-python's group join, as the guard's consumer runs it, against the real broker: a
rebalance whose poll ran out of time while it was in flight still ends with its assignment
installed (group_join.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from kafka import ConsumerRebalanceListener, KafkaAdminClient, KafkaProducer
from kafka.admin import NewPartitions

from guard.config.settings import KafkaSettings
from guard.localbroker import LocalKafka
from guard.transport.kafka_python.admin import ensure_topics
from guard.transport.kafka_python.consumer import committed_consumer

pytestmark = pytest.mark.integration

DEADLINE_S = 60.0


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """A listener, as the guard's pipe has one: kafka-python then marks the partitions it
    revokes as pending revocation until the next assignment is installed."""

    def on_partitions_revoked(self, revoked: Any) -> None:
        pass

    def on_partitions_assigned(self, assigned: Any) -> None:
        pass


def _until(what: str, done: Callable[[], bool], step: Callable[[], object]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not done():
        assert time.monotonic() < deadline, what
        step()


def test_a_rebalance_whose_poll_ran_out_while_it_was_in_flight_installs_its_assignment(
    kafka: LocalKafka, unique: Callable[[str], str]
) -> None:
    topic, group = unique("t"), unique("g")
    settings = KafkaSettings(
        bootstrap_servers=kafka.bootstrap_servers, group_id=group, request_timeout_ms=15_000
    )
    ensure_topics(settings, {topic: 3})
    consumer = committed_consumer(settings, group_id=group)
    try:
        consumer.subscribe([topic], listener=_Listener())
        _until("joined", lambda: len(consumer.assignment()) == 3, lambda: consumer.poll(200))
        # The topic grows: the leader's assignment no longer matches the metadata, so the
        # next poll starts a rebalance. Polls of no time at all leave it in flight.
        admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
        admin.create_partitions({topic: NewPartitions(4)})
        admin.close()
        consumer._cluster.request_update()
        coordinator = consumer._coordinator
        _until("rebalance started", lambda: coordinator._join_task is not None,
               lambda: (consumer.poll(timeout_ms=0), time.sleep(0.05)))  # fmt: skip
        join = coordinator._join_task
        _until("rebalance done unawaited", lambda: join.is_done, lambda: time.sleep(0.01))
        producer = KafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
        for partition in range(4):
            producer.send(topic, b"v", partition=partition)
        producer.flush(timeout=30)
        producer.close(timeout=10)
        got: set[int] = set()

        def poll() -> None:
            for tp, _ in consumer.poll(timeout_ms=500).items():
                got.add(tp.partition)

        _until(f"records of every partition (got {got})", lambda: got == {0, 1, 2, 3}, poll)
        assert {tp.partition for tp in consumer.assignment()} == {0, 1, 2, 3}
    finally:
        consumer.close(autocommit=False, timeout_ms=5_000)
