"""Each transport's Pipe against the real broker: commit is atomic over records and offsets."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kafka import KafkaProducer

from guard.config.settings import KafkaSettings
from guard.errors import FatalTransportError
from guard.localbroker import LocalKafka
from guard.transport.base import OutRecord, Pipe
from guard.transport.factory import open_pipe
from guard.verify import read_topic
from tests.fixtures.committed import read_committed

pytestmark = pytest.mark.integration


def _produce(bootstrap: str, topic: str, n: int) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(n):
        producer.send(topic, key=b"k%d" % i, value=b"v%d" % i, partition=0)
    producer.flush(timeout=30)
    producer.close(timeout=10)


def _settings(kafka: LocalKafka, client: str, group: str, tx: str) -> KafkaSettings:
    return KafkaSettings(
        client=client,  # type: ignore[arg-type]
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=group,
        transactional_id=tx,
        request_timeout_ms=15_000,
    )


def _pipe(settings: KafkaSettings, topics: list[str]) -> Pipe:
    pipe = open_pipe(settings)
    pipe.ensure_topics({t: 1 for t in topics})
    return pipe


def _poll_all(pipe: Pipe, n: int) -> list:
    got: list = []
    for _ in range(60):
        got += pipe.poll(max_records=n - len(got), timeout_ms=500)
        if len(got) >= n:
            break
    return got


def test_commit_publishes_records_and_offsets_together(
    kafka: LocalKafka, kafka_client: str, unique: Callable[[str], str]
) -> None:
    source, out = unique("src"), unique("out")
    settings = _settings(kafka, kafka_client, unique("group"), unique("tx"))
    pipe = _pipe(settings, [source, out])
    _produce(kafka.bootstrap_servers, source, 5)
    pipe.subscribe([source])
    batch = _poll_all(pipe, 5)
    pipe.begin()
    for r in batch:
        pipe.send(OutRecord(out, r.key, r.value, [("h", b"1")], r.timestamp_ms, 0))
    pipe.commit({(source, 0): batch[-1].offset + 1})
    pipe.close()
    landed = read_committed(kafka.bootstrap_servers, out, 5, kafka_client)  # type: ignore[arg-type]
    assert [(r.key, r.value, r.headers) for r in landed] == [
        (b"k%d" % i, b"v%d" % i, [("h", b"1")]) for i in range(5)
    ]
    # A new consumer in the same group starts after the committed offsets.
    again = _pipe(_settings(kafka, kafka_client, settings.group_id, unique("tx")), [])
    again.subscribe([source])
    assert again.poll(max_records=10, timeout_ms=3000) == []
    again.close()


def test_abort_hides_records_and_rewinds_to_committed_offsets(
    kafka: LocalKafka, kafka_client: str, unique: Callable[[str], str]
) -> None:
    source, out = unique("src"), unique("out")
    pipe = _pipe(_settings(kafka, kafka_client, unique("group"), unique("tx")), [source, out])
    _produce(kafka.bootstrap_servers, source, 3)
    pipe.subscribe([source])
    first = _poll_all(pipe, 3)
    pipe.begin()
    for r in first:
        pipe.send(OutRecord(out, r.key, r.value, [], r.timestamp_ms, 0))
    pipe.abort()
    second = _poll_all(pipe, 3)
    assert [r.offset for r in second] == [r.offset for r in first]
    pipe.begin()
    pipe.send(OutRecord(out, b"after", b"abort", [], None, 0))
    pipe.commit({(source, 0): 3})
    pipe.close()
    landed = read_committed(kafka.bootstrap_servers, out, 1, kafka_client)  # type: ignore[arg-type]
    assert [r.key for r in landed] == [b"after"]


def test_a_second_pipe_with_the_same_transactional_id_fences_the_first(
    kafka: LocalKafka, kafka_client: str, unique: Callable[[str], str]
) -> None:
    source, out, tx = unique("src"), unique("out"), unique("tx")
    settings = _settings(kafka, kafka_client, unique("group"), tx)
    zombie = open_pipe(settings)
    zombie.ensure_topics({source: 1, out: 1})
    successor = open_pipe(settings)  # init_transactions bumps the epoch: the zombie is fenced
    try:
        zombie.begin()
        zombie.send(OutRecord(out, b"k", b"late", [], None, 0))
        with pytest.raises(FatalTransportError):
            zombie.commit({})
    finally:
        zombie.close()
        successor.close()
    assert read_topic(kafka.bootstrap_servers, out, client=kafka_client) == []


def test_poll_with_a_limit_of_one_returns_one_record_at_a_time(
    kafka: LocalKafka, kafka_client: str, unique: Callable[[str], str]
) -> None:
    source = unique("src")
    pipe = _pipe(_settings(kafka, kafka_client, unique("group"), unique("tx")), [source])
    _produce(kafka.bootstrap_servers, source, 3)
    pipe.subscribe([source])
    seen: list[int] = []
    try:
        for _ in range(60):
            batch = pipe.poll(max_records=1, timeout_ms=500)
            assert len(batch) <= 1
            if batch:
                seen.append(batch[0].offset)
                pipe.begin()
                pipe.commit({(source, 0): batch[0].offset + 1})
            if len(seen) == 3:
                break
    finally:
        pipe.close()
    assert seen == [0, 1, 2]
