"""How the kafka-python pipe commits and rewinds, against the real broker: never as a member
that has left the group, and never back past what `auto_offset_reset: latest` skipped."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from kafka import KafkaProducer

from guard.config.settings import KafkaSettings
from guard.errors import RejoinRequiredError
from guard.localbroker import LocalKafka
from guard.transport.base import InRecord, OutRecord, TopicPartition
from guard.transport.kafka_python.admin import ensure_topics
from guard.transport.kafka_python.pipe import KafkaPipe
from guard.verify import read_topic

pytestmark = pytest.mark.integration


def _produce(bootstrap: str, topic: str, keys: list[bytes], partitions: int) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i, key in enumerate(keys):
        producer.send(topic, key=key, value=b"v", partition=i % partitions)
    producer.flush(timeout=30)
    producer.close(timeout=10)


def _settings(bootstrap: str, group: str, instance: str, **extra: object) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=bootstrap,
        group_id=group,
        instance_id=instance,
        transactional_id=f"{group}-{instance}",
        **extra,  # type: ignore[arg-type]
    )


def _poll(pipe: KafkaPipe, want: int) -> list[InRecord]:
    got: list[InRecord] = []
    deadline = time.monotonic() + 60
    while len(got) < want:
        assert time.monotonic() < deadline, f"polled {len(got)} of {want}"
        got += pipe.poll(1000, 200)
    return got


def _offsets(batch: list[InRecord]) -> dict[TopicPartition, int]:
    return {(r.topic, r.partition): r.offset + 1 for r in batch}  # in order: the last wins


def _copy(pipe: KafkaPipe, batch: list[InRecord], out: str) -> None:
    pipe.begin()
    pipe.send_many([OutRecord(out, r.key, r.value, [], None, r.partition) for r in batch])


def test_a_member_that_fell_out_of_the_group_does_not_commit_its_batch(
    kafka: LocalKafka, unique: Callable[[str], str]
) -> None:
    """Dynamic membership; a batch slower than max_poll_interval_ms: kafka-python leaves the
    group and resets to generation -1 / member "", and the broker would take a transactional
    offset commit carrying neither while another member owns the partitions."""
    bootstrap, source, out, group = (
        kafka.bootstrap_servers,
        unique("src"),
        unique("out"),
        unique("group"),
    )
    ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), {source: 2, out: 2})
    _produce(bootstrap, source, [b"k%d" % i for i in range(20)], 2)
    slow = {"static_membership": False, "consumer_properties": {"max_poll_interval_ms": 4000}}
    a = KafkaPipe(_settings(bootstrap, group, "a", **slow))
    try:
        a.subscribe([source])
        batch = _poll(a, 20)
        _copy(a, batch, out)
        deadline = time.monotonic() + 60  # until its heartbeat thread has left the group
        while a._consumer.group_metadata().generation_id != -1:
            assert time.monotonic() < deadline, "never left the group"
            time.sleep(0.1)
        with pytest.raises(RejoinRequiredError, match="no longer a group member"):
            a.commit(_offsets(batch))
    finally:
        a.close()
    assert read_topic(bootstrap, out) == [], "nothing of the batch became visible"


def test_an_aborted_batch_is_rewound_to_where_latest_started_not_the_log_start(
    kafka: LocalKafka, unique: Callable[[str], str]
) -> None:
    """`auto_offset_reset: latest` skips the backlog; a batch aborted (any transient failure)
    on partitions without a committed offset goes back to where reading started."""
    bootstrap, source, out, group = (
        kafka.bootstrap_servers,
        unique("src"),
        unique("out"),
        unique("group"),
    )
    ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), {source: 2, out: 2})
    _produce(bootstrap, source, [b"old%d" % i for i in range(100)], 2)
    pipe = KafkaPipe(_settings(bootstrap, group, "a", auto_offset_reset="latest"))
    try:
        pipe.subscribe([source])
        deadline = time.monotonic() + 60  # joined, and both positions reset to the end
        while True:
            assert pipe.poll(100, 200) == []
            state = pipe._consumer._subscription.assignment
            if len(state) == 2 and all(s.position is not None for s in state.values()):
                break
            assert time.monotonic() < deadline, "no positions"
        _produce(bootstrap, source, [b"new"], 2)  # to partition 0
        batch = _poll(pipe, 1)
        _copy(pipe, batch, out)
        pipe.abort()
        again = _poll(pipe, 1)
        assert [r.key for r in again] == [b"new"], "the backlog stays skipped"
        _copy(pipe, again, out)
        pipe.commit(_offsets(again))
    finally:
        pipe.close()
    assert [r.key for r in read_topic(bootstrap, out)] == [b"new"]
