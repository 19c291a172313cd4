"""librdkafka configuration built from KafkaSettings: tuning, membership, pass-through."""

from __future__ import annotations

from guard.config.settings import KafkaSettings
from guard.transport.confluent import config as confluent_config


def test_tuning_reaches_the_librdkafka_configuration() -> None:
    settings = KafkaSettings(
        client="confluent",
        linger_ms=7,
        batch_size=65536,
        compression="lz4",
        fetch_min_bytes=10,
        fetch_max_wait_ms=20,
        auto_offset_reset="latest",
        session_timeout_ms=12_000,
        instance_id="i1",
        producer_properties={"queue.buffering.max.kbytes": 2048},
        consumer_properties={"queued.min.messages": 1000},
    )
    producer = confluent_config.producer(settings, "tx")
    assert (producer["linger.ms"], producer["batch.size"], producer["compression.type"]) == (
        7,
        65536,
        "lz4",
    )
    assert producer["queue.buffering.max.kbytes"] == 2048
    consumer = confluent_config.consumer(settings, "g")
    assert (consumer["fetch.min.bytes"], consumer["fetch.wait.max.ms"]) == (10, 20)
    assert (consumer["auto.offset.reset"], consumer["session.timeout.ms"]) == ("latest", 12_000)
    assert (consumer["group.instance.id"], consumer["queued.min.messages"]) == ("i1", 1000)
    assert "group.instance.id" not in confluent_config.consumer(settings, None)


def test_the_guard_owned_consumer_settings_win() -> None:
    consumer = confluent_config.consumer(KafkaSettings(client="confluent"), "g")
    assert (consumer["isolation.level"], consumer["enable.auto.commit"]) == (
        "read_committed",
        False,
    )
    assert consumer["enable.auto.offset.store"] is False


def test_the_producer_is_transactional_and_partitions_keys_like_the_java_client() -> None:
    producer = confluent_config.producer(KafkaSettings(client="confluent"), "tx-1")
    assert (producer["transactional.id"], producer["enable.idempotence"]) == ("tx-1", True)
    assert producer["partitioner"] == "murmur2_random"


def test_delivery_reports_come_for_failures_only() -> None:
    """The producer's one callback then runs only when a record failed (the commit's
    evidence); successful deliveries cost no Python call."""
    producer = confluent_config.producer(KafkaSettings(client="confluent"), "tx")
    assert producer["delivery.report.only.error"] is True
