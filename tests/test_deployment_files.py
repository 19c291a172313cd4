"""The files users deploy with stay consistent with the code (no Docker engine runs here)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from guard.config import load_settings
from tests.conftest import REPO


def test_compose_guard_service_config_loads_with_its_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    guard = compose["services"]["guard"]
    config_host_path = next(
        v.split(":")[0] for v in guard["volumes"] if v.endswith("/etc/guard/guard.yaml:ro")
    )
    for name, value in guard["environment"].items():
        monkeypatch.setenv(name, str(value).replace("/app/schemas", str(REPO / "schemas")))
    settings = load_settings(REPO / config_host_path)
    assert settings.kafka.bootstrap_servers == "kafka:9092"
    assert settings.schemas_dir == REPO / "schemas"


def test_compose_broker_is_configured_for_transactions_on_one_node() -> None:
    env = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["kafka"][
        "environment"
    ]
    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env[key] == 1


def test_example_config_loads_and_points_at_the_repo_schemas() -> None:
    settings = load_settings(REPO / "examples" / "guard.yaml")
    assert Path(settings.schemas_dir) == (REPO / "schemas").resolve()
    assert set(settings.topics) == {"orders"}
