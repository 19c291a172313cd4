"""One node of the session's real 3-node cluster killed and brought back in place."""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaProducer

from guard.localbroker import LocalKafkaCluster
from guard.localbroker.cluster import under_replicated
from guard.verify import read_topic
from tests.integration.faults.cluster import leader, wait_leaders_without


def _produce_one(bootstrap: str, topic: str, value: bytes) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", max_block_ms=60_000)
    try:
        producer.send(topic, value=value).get(timeout=60)
    finally:
        producer.close(timeout=10)


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_a_killed_leader_comes_back_in_place_with_its_data_and_rejoins_the_isr(
    kafka_cluster: LocalKafkaCluster,
) -> None:
    bootstrap = kafka_cluster.bootstrap_servers
    topic = f"cluster-{uuid.uuid4().hex[:8]}"
    _produce_one(bootstrap, topic, b"before")
    victim = leader(bootstrap, topic)
    address = kafka_cluster.node(victim).bootstrap_address
    kafka_cluster.kill_node(victim, hard=True)
    assert victim not in kafka_cluster.running()
    wait_leaders_without(bootstrap, topic, {victim})
    _produce_one(bootstrap, topic, b"while down")  # acks=all with 2 of 3 in sync
    kafka_cluster.start_node(victim)
    kafka_cluster.wait_in_sync(timeout=300)
    assert kafka_cluster.node(victim).bootstrap_address == address
    assert under_replicated(bootstrap, [topic]) == []
    values = [r.value for r in read_topic(address, topic)]
    assert values == [b"before", b"while down"]
