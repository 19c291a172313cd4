"""kafka-python's check of the properties passed through to it, and the start-up path
(`load_checked_settings`) that runs it before any connection."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard.errors import ConfigError
from guard.transport.factory import backend, load_checked_settings
from guard.transport.kafka_python.config import check_properties
from tests.fixtures.configs import write_with_topics

pytestmark = pytest.mark.usefixtures("no_guard_env")


def _refusal(role: str, props: dict[str, object]) -> str:
    with pytest.raises(ValueError) as info:
        check_properties(role, props)  # type: ignore[arg-type]
    return str(info.value)


def test_known_kafka_python_properties_pass_at_start_up(tmp_path: Path) -> None:
    path = write_with_topics(
        tmp_path,
        "kafka: {producer_properties: {retries: 3}, consumer_properties: {check_crcs: false}}\n",
    )
    kafka = load_checked_settings(path).kafka
    assert (kafka.producer_properties, kafka.consumer_properties) == (
        {"retries": 3},
        {"check_crcs": False},
    )


def test_an_unknown_kafka_python_property_is_refused() -> None:
    assert _refusal("producer", {"linger": 5}) == "kafka-python has no producer property 'linger'"


def test_a_consumer_property_is_unknown_to_the_kafka_python_producer() -> None:
    assert "no producer property 'check_crcs'" in _refusal("producer", {"check_crcs": False})


@pytest.mark.parametrize("name", ["isolation_level", "enable_auto_commit", "group_id"])
def test_consumer_properties_the_guard_owns_are_refused(name: str) -> None:
    assert f"'{name}' is set by the guard" in _refusal("consumer", {name: "x"})


@pytest.mark.parametrize("name", ["transactional_id", "enable_idempotence"])
def test_producer_properties_the_guard_owns_are_refused(name: str) -> None:
    assert f"'{name}' is set by the guard" in _refusal("producer", {name: "x"})


def test_a_property_with_a_setting_of_its_own_names_the_setting() -> None:
    refusal = _refusal("producer", {"compression_type": "gzip"})
    assert refusal == "producer property 'compression_type': use the setting kafka.compression"


def test_the_kafka_python_backend_checks_its_properties_with_this_check() -> None:
    assert backend("kafka-python").check_properties is check_properties


def test_start_up_refuses_an_unknown_property_naming_the_file_and_key(tmp_path: Path) -> None:
    path = write_with_topics(tmp_path, "kafka: {producer_properties: {linger: 5}}\n")
    with pytest.raises(ConfigError) as info:
        load_checked_settings(path)
    assert str(info.value) == (
        f"{path}: invalid configuration\n"
        "  kafka.producer_properties: kafka-python has no producer property 'linger'"
    )


def test_start_up_refuses_a_consumer_property_the_guard_owns(tmp_path: Path) -> None:
    path = write_with_topics(tmp_path, "kafka: {consumer_properties: {isolation_level: x}}\n")
    with pytest.raises(
        ConfigError, match=r"kafka\.consumer_properties: .*'isolation_level' is set"
    ):
        load_checked_settings(path)


def test_start_up_names_the_variable_that_set_a_bad_property(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUARD_KAFKA__CONSUMER_PROPERTIES", '{"fetch_speed": 9}')
    with pytest.raises(ConfigError) as info:
        load_checked_settings(write_with_topics(tmp_path, ""))
    assert str(info.value) == (
        "environment: invalid configuration\n"
        "  kafka.consumer_properties (from GUARD_KAFKA__CONSUMER_PROPERTIES): "
        "kafka-python has no consumer property 'fetch_speed'"
    )
