"""librdkafka configuration built from KafkaSettings: tuning, membership, pass-through; the
check of the properties passed through, and the start-up path that runs it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from guard.config.settings import KafkaSettings
from guard.errors import ConfigError
from guard.transport import factory
from guard.transport.confluent import config as confluent_config
from guard.transport.confluent.config import check_properties
from guard.transport.factory import load_checked_settings
from tests.fixtures.configs import write_with_topics

pytestmark = pytest.mark.usefixtures("no_guard_env")


def _refusal(role: str, props: dict[str, object]) -> str:
    with pytest.raises(ValueError) as info:
        check_properties(role, props)  # type: ignore[arg-type]
    return str(info.value)


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


def test_the_producer_keeps_one_request_in_flight() -> None:
    """With two, a refused first request and an accepted second one make librdkafka report
    the refused records as delivered, and the transaction commits without them."""
    producer = confluent_config.producer(KafkaSettings(client="confluent"), "tx")
    assert producer["max.in.flight.requests.per.connection"] == 1


def test_known_librdkafka_properties_pass_at_start_up(tmp_path: Path) -> None:
    path = write_with_topics(
        tmp_path,
        "kafka: {client: confluent, producer_properties: {queue.buffering.max.kbytes: 2048},"
        " consumer_properties: {queued.min.messages: 1000}}\n",
    )
    kafka = load_checked_settings(path).kafka
    assert (kafka.producer_properties, kafka.consumer_properties) == (
        {"queue.buffering.max.kbytes": 2048},
        {"queued.min.messages": 1000},
    )


def test_an_unknown_librdkafka_property_is_refused() -> None:
    refusal = _refusal("consumer", {"fetch.speed": 9})
    assert refusal.startswith("librdkafka refuses consumer properties: ")
    assert "No such configuration property" in refusal and "fetch.speed" in refusal


def test_an_invalid_librdkafka_value_is_refused() -> None:
    assert "Invalid value" in _refusal("producer", {"retries": "many"})


@pytest.mark.parametrize(
    "name", ["isolation.level", "enable.auto.commit", "group.id", "group.instance.id"]
)
def test_consumer_properties_the_guard_owns_are_refused(name: str) -> None:
    assert f"'{name}' is set by the guard" in _refusal("consumer", {name: "x"})


@pytest.mark.parametrize(
    "name",
    [
        "transactional.id",
        "enable.idempotence",
        "max.in.flight.requests.per.connection",
        "max.in.flight",
    ],
)
def test_producer_properties_the_guard_owns_are_refused(name: str) -> None:
    assert f"'{name}' is set by the guard" in _refusal("producer", {name: "x"})


def test_a_property_with_a_setting_of_its_own_names_the_setting() -> None:
    refusal = _refusal("producer", {"linger.ms": 1})
    assert refusal == "producer property 'linger.ms': use the setting kafka.linger_ms"


def test_the_confluent_backend_checks_its_properties_with_this_check() -> None:
    assert factory.backend("confluent").check_properties is check_properties


def test_start_up_refuses_an_unknown_property_naming_the_file_and_key(tmp_path: Path) -> None:
    path = write_with_topics(
        tmp_path, "kafka: {client: confluent, consumer_properties: {fetch.speed: 9}}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_checked_settings(path)
    assert str(info.value).startswith(
        f"{path}: invalid configuration\n"
        "  kafka.consumer_properties: librdkafka refuses consumer properties: "
    )
    assert "fetch.speed" in str(info.value)


def test_start_up_refuses_a_property_with_a_setting_of_its_own(tmp_path: Path) -> None:
    path = write_with_topics(
        tmp_path, "kafka: {client: confluent, producer_properties: {linger.ms: 1}}\n"
    )
    with pytest.raises(
        ConfigError, match=r"kafka\.producer_properties: .*use the setting kafka\.linger_ms"
    ):
        load_checked_settings(path)


@pytest.fixture
def _without_confluent_kafka(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """confluent-kafka not installed (the `confluent` extra left out)."""
    factory.backend.cache_clear()
    monkeypatch.setitem(sys.modules, "confluent_kafka", None)
    yield
    factory.backend.cache_clear()


@pytest.mark.usefixtures("_without_confluent_kafka")
def test_start_up_without_confluent_kafka_says_how_to_install_it(tmp_path: Path) -> None:
    path = write_with_topics(
        tmp_path, "kafka: {client: confluent, producer_properties: {retries: 3}}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_checked_settings(path)
    assert str(info.value) == (
        f"{path}: invalid configuration\n"
        "  kafka.client: 'confluent' needs confluent-kafka: pip install 'ingest-guard[confluent]'"
    )
