"""The files users deploy with stay consistent with the code (no Docker engine runs here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from guard.config import load_settings
from tests.fixtures.paths import REPO


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


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return loaded


def _dockerfile_env() -> dict[str, str]:
    """ENV keys of the Dockerfile (`ENV A=1 \\` continuation lines)."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            for pair in line[4:].split():
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def test_compose_guard_serves_metrics_on_all_interfaces_inside_the_container(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    guard = _compose()["services"]["guard"]
    for name, value in guard["environment"].items():
        monkeypatch.setenv(name, str(value).replace("/app/schemas", str(REPO / "schemas")))
    settings = load_settings(REPO / "examples" / "guard.yaml")
    assert settings.metrics.host == "0.0.0.0" and settings.metrics.port is not None
    assert "ports" not in guard, "metrics stay inside the compose network"


def test_compose_prometheus_scrapes_the_guard_metrics_port() -> None:
    compose = _compose()
    port = int(compose["services"]["guard"]["environment"]["GUARD_METRICS__PORT"])
    prom = compose["services"]["prometheus"]
    mount = next(v for v in prom["volumes"] if v.endswith("/etc/prometheus/prometheus.yml:ro"))
    scrape = yaml.safe_load((REPO / mount.split(":")[0]).read_text())["scrape_configs"]
    targets = [(sd["names"], sd["port"]) for job in scrape for sd in job["dns_sd_configs"]]
    assert (["guard"], port) in targets
    assert all(job["metrics_path"] == "/metrics" for job in scrape)


def test_dockerfile_env_is_valid_config_and_its_healthcheck_probes_healthz(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = _dockerfile_env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(REPO / "examples" / "guard.yaml")
    assert settings.metrics.port == int(env["GUARD_METRICS__PORT"])
    assert settings.metrics.host == "0.0.0.0"
    dockerfile = (REPO / "Dockerfile").read_text()
    healthcheck = next(line for line in dockerfile.splitlines() if "urlopen" in line)
    assert "/healthz" in healthcheck and "GUARD_METRICS__PORT" in healthcheck
    assert f"EXPOSE {env['GUARD_METRICS__PORT']}" in dockerfile


def test_compose_and_dockerfile_agree_on_the_metrics_port_and_state_dir() -> None:
    env, compose_env = _dockerfile_env(), _compose()["services"]["guard"]["environment"]
    for key in ("GUARD_METRICS__PORT", "GUARD_METRICS__HOST", "GUARD_STATE_DIR"):
        assert str(compose_env[key]) == env[key], key


def test_every_guard_env_name_in_the_deployment_files_is_a_settings_key() -> None:
    from guard.config.settings import GuardSettings

    names = {*_dockerfile_env(), *_compose()["services"]["guard"]["environment"]}
    for name in (n for n in names if n.startswith("GUARD_")):
        model: Any = GuardSettings
        for part in name.removeprefix("GUARD_").lower().split("__"):
            assert part in model.model_fields, f"{name}: no key {part!r}"
            model = model.model_fields[part].annotation
