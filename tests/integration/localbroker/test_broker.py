"""A real local broker: a transactional round trip, and restarts in place on the same port."""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer

from guard.localbroker import LocalKafka
from guard.localbroker.broker import MAX_MESSAGE_BYTES
from guard.localbroker.fetch import cache_root
from guard.verify import read_topic
from tests.localbroker.test_broker import BIG_VALUE


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_transactional_round_trip() -> None:
    topic = f"localbroker-{uuid.uuid4().hex[:8]}"
    with LocalKafka() as kafka:
        data_dir, pid = kafka.data_dir, kafka.pid
        assert kafka.bootstrap_servers.startswith("127.0.0.1:")
        assert kafka.version.startswith("4.")

        producer = KafkaProducer(
            bootstrap_servers=kafka.bootstrap_servers,
            transactional_id=f"tx-{topic}",
            max_request_size=MAX_MESSAGE_BYTES,
            max_block_ms=30_000,
            request_timeout_ms=30_000,
        )
        try:
            producer.init_transactions()
            producer.begin_transaction()
            for i in range(3):
                producer.send(topic, key=b"k%d" % i, value=b"committed-%d" % i)
            producer.send(topic, key=b"big", value=BIG_VALUE)
            producer.commit_transaction()
            producer.begin_transaction()
            producer.send(topic, key=b"k-aborted", value=b"aborted")
            producer.flush(timeout=30)
            producer.abort_transaction()
            producer.begin_transaction()
            producer.send(topic, key=b"k-last", value=b"committed-last")
            producer.commit_transaction()
        finally:
            producer.close(timeout=10)

        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=kafka.bootstrap_servers,
            group_id=f"g-{topic}",
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            request_timeout_ms=30_000,
        )
        values: list[bytes] = []
        try:
            deadline = time.monotonic() + 60
            while len(values) < 5 and time.monotonic() < deadline:
                for records in consumer.poll(timeout_ms=1000).values():
                    values.extend(r.value for r in records)
        finally:
            consumer.close(timeout_ms=5000)

    assert values == [b"committed-0", b"committed-1", b"committed-2", BIG_VALUE, b"committed-last"]
    # stop() must leave nothing behind: process gone, temp data dir removed.
    assert pid is not None and not Path(f"/proc/{pid}").exists()
    assert not data_dir.exists()


def _produce_one(bootstrap: str, topic: str, value: bytes) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", max_block_ms=30_000)
    try:
        producer.send(topic, key=b"k", value=value).get(timeout=30)
    finally:
        producer.close(timeout=10)


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_a_broker_stopped_in_place_restarts_on_the_same_port_with_its_data() -> None:
    topic = f"inplace-{uuid.uuid4().hex[:8]}"
    with LocalKafka() as kafka:
        bootstrap, pid = kafka.bootstrap_servers, kafka.pid
        _produce_one(bootstrap, topic, b"before")
        kafka.stop_in_place()
        assert not kafka.is_running() and kafka.data_dir.exists()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", int(bootstrap.rsplit(":", 1)[1])), 1).close()
        kafka.start()
        assert kafka.bootstrap_servers == bootstrap and kafka.pid != pid
        _produce_one(bootstrap, topic, b"after")
        assert [r.value for r in read_topic(bootstrap, topic)] == [b"before", b"after"]


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_a_broker_killed_in_place_comes_back_on_the_same_port() -> None:
    """SIGKILL (a crash, no controlled shutdown) and start: same address, committed data kept."""
    topic = f"killed-{uuid.uuid4().hex[:8]}"
    with LocalKafka() as kafka:
        bootstrap = kafka.bootstrap_servers
        _produce_one(bootstrap, topic, b"kept")
        kafka.stop_in_place(hard=True)
        kafka.start()
        assert kafka.bootstrap_servers == bootstrap
        assert [r.value for r in read_topic(bootstrap, topic)] == [b"kept"]


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_a_broker_after_a_clean_stop_maps_the_class_archive() -> None:
    """The first broker to stop cleanly leaves Kafka's classes archived in the jar cache (if
    none was there); every broker after it maps that archive instead of loading the classes."""
    with LocalKafka():
        pass
    with LocalKafka() as kafka:
        maps = Path(f"/proc/{kafka.pid}/maps").read_text()
        archives = {line.split()[-1] for line in maps.splitlines() if line.endswith(".jsa")}
        home = cache_root() / kafka.version  # where the jars are; the JDK's own archive is not
        assert any(Path(a).parent == home for a in archives), archives
