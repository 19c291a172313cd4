"""KafkaSettings: client tuning, static membership and validated client pass-through."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from guard.config import load_settings
from guard.config.settings import KafkaSettings
from guard.errors import ConfigError

TOPICS = "topics:\n  orders: {subject: orders}\n"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("GUARD_"):
            monkeypatch.delenv(name)


def _load_error(tmp_path: Path, kafka_yaml: str) -> str:
    path = tmp_path / "guard.yaml"
    path.write_text(textwrap.dedent(kafka_yaml) + TOPICS, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    return str(info.value)


def test_static_membership_is_on_by_default_with_the_instance_id() -> None:
    assert KafkaSettings(instance_id="node-7").group_instance_id() == "node-7"


def test_static_membership_can_be_switched_off() -> None:
    assert KafkaSettings(instance_id="node-7", static_membership=False).group_instance_id() is None


def test_group_instance_id_replaces_characters_kafka_refuses() -> None:
    assert KafkaSettings(instance_id="pod/7 a:b").group_instance_id() == "pod_7_a_b"


def test_partition_fetch_bytes_default_to_kafkas_one_mib_whatever_the_record_limit() -> None:
    assert KafkaSettings(max_request_size=64 * 1024 * 1024).partition_fetch_bytes() == 1_048_576
    assert KafkaSettings(max_partition_fetch_bytes=2048).partition_fetch_bytes() == 2048


def test_known_kafka_python_properties_pass(tmp_path: Path) -> None:
    path = tmp_path / "guard.yaml"
    path.write_text(
        "kafka: {producer_properties: {retries: 3}, consumer_properties: {check_crcs: false}}\n"
        + TOPICS,
        encoding="utf-8",
    )
    kafka = load_settings(path).kafka
    assert (kafka.producer_properties, kafka.consumer_properties) == (
        {"retries": 3},
        {"check_crcs": False},
    )


def test_an_unknown_kafka_python_property_is_a_config_error(tmp_path: Path) -> None:
    error = _load_error(tmp_path, "kafka: {producer_properties: {linger: 5}}\n")
    assert "kafka-python has no producer property 'linger'" in error


def test_a_consumer_property_is_unknown_to_the_kafka_python_producer(tmp_path: Path) -> None:
    error = _load_error(tmp_path, "kafka: {producer_properties: {check_crcs: false}}\n")
    assert "no producer property 'check_crcs'" in error


def test_an_unknown_librdkafka_property_is_a_config_error(tmp_path: Path) -> None:
    error = _load_error(
        tmp_path, "kafka: {client: confluent, consumer_properties: {fetch.speed: 9}}\n"
    )
    assert "No such configuration property" in error and "fetch.speed" in error


def test_an_invalid_librdkafka_value_is_a_config_error(tmp_path: Path) -> None:
    error = _load_error(
        tmp_path, "kafka: {client: confluent, producer_properties: {retries: many}}\n"
    )
    assert "Invalid value" in error


@pytest.mark.parametrize(
    ("client", "name"),
    [
        ("kafka-python", "isolation_level"),
        ("kafka-python", "enable_auto_commit"),
        ("kafka-python", "group_id"),
        ("confluent", "isolation.level"),
        ("confluent", "enable.auto.commit"),
        ("confluent", "group.id"),
        ("confluent", "group.instance.id"),
    ],
)
def test_consumer_properties_the_guard_owns_are_refused(
    tmp_path: Path, client: str, name: str
) -> None:
    error = _load_error(
        tmp_path, f"kafka: {{client: {client}, consumer_properties: {{{name}: x}}}}\n"
    )
    assert f"'{name}' is set by the guard" in error


@pytest.mark.parametrize(
    ("client", "name"),
    [
        ("kafka-python", "transactional_id"),
        ("kafka-python", "enable_idempotence"),
        ("confluent", "transactional.id"),
        ("confluent", "enable.idempotence"),
    ],
)
def test_producer_properties_the_guard_owns_are_refused(
    tmp_path: Path, client: str, name: str
) -> None:
    error = _load_error(
        tmp_path, f"kafka: {{client: {client}, producer_properties: {{{name}: x}}}}\n"
    )
    assert f"'{name}' is set by the guard" in error


def test_a_property_with_a_setting_of_its_own_names_the_setting(tmp_path: Path) -> None:
    error = _load_error(
        tmp_path, "kafka: {client: confluent, producer_properties: {linger.ms: 1}}\n"
    )
    assert "use the setting kafka.linger_ms" in error
