"""The files users deploy with stay consistent with the code (no Docker engine runs here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def test_compose_publishes_the_unauthenticated_listener_on_loopback_only() -> None:
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    published = [p for s in services.values() for p in s.get("ports", [])]
    assert published and all(str(p).startswith("127.0.0.1:") for p in published)


def _workflows() -> dict[str, Any]:
    return {
        p.name: yaml.safe_load(p.read_text())
        for p in (REPO / ".github" / "workflows").glob("*.yml")
    }


def test_workflow_jobs_that_check_out_code_hold_read_only_tokens() -> None:
    for name, flow in _workflows().items():
        assert flow["permissions"] == {"contents": "read"}, name
        for job_name, job in flow["jobs"].items():
            runs_code = any("actions/checkout" in str(s.get("uses", "")) for s in job["steps"])
            if runs_code:
                assert "permissions" not in job, f"{name}:{job_name} widens a token"


def test_a_workflow_runs_the_readme_test_command() -> None:
    runs = [
        str(step.get("run", ""))
        for flow in _workflows().values()
        for job in flow["jobs"].values()
        for step in job["steps"]
    ]
    assert any(".ci/run" in r for r in runs)
    assert "make test" in (REPO / ".ci" / "run").read_text()
