"""docker-compose.yml, checked statically (no Docker engine runs here): every service,
dependency, health check, port, volume and provisioning file is consistent, so the first
`docker compose up` on a fresh machine comes up clean."""

from __future__ import annotations

import re
import shlex
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from guard.config import load_settings
from tests.fixtures.paths import REPO

KAFKA_TESTED = "4.4.0"  # the release the suite's local broker runs (docs/performance.md)


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return loaded


SERVICES: dict[str, Any] = _compose()["services"]


def _mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, container path) of each volume entry (short syntax)."""
    out = []
    for entry in service.get("volumes", []):
        source, target, *_ = str(entry).split(":")
        out.append((source, target))
    return out


def _mounted_file(service: str, container_path: str) -> Path:
    """The repository file a container path of `service` comes from (a bind mount)."""
    for source, target in _mounts(SERVICES[service]):
        if container_path == target or PurePosixPath(container_path).is_relative_to(target):
            assert source.startswith("./"), f"{service}: {container_path} is not bind-mounted"
            rest = PurePosixPath(container_path).relative_to(target)
            return REPO / source / rest
    raise AssertionError(f"{service}: nothing mounted at {container_path}")


def test_every_service_has_an_image_or_a_build_with_a_dockerfile() -> None:
    for name, service in SERVICES.items():
        assert ("image" in service) != ("build" in service), name
        if "build" in service:
            assert (REPO / service["build"] / "Dockerfile").is_file(), name


def _has_healthcheck(service: dict[str, Any]) -> bool:
    if "healthcheck" in service:
        return True
    if "build" in service:  # the image's own HEALTHCHECK
        return "HEALTHCHECK" in (REPO / service["build"] / "Dockerfile").read_text()
    return False


def test_every_dependency_exists_and_its_condition_can_be_met() -> None:
    for name, service in SERVICES.items():
        deps = service.get("depends_on", {})
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        for dep, spec in deps.items():
            assert dep in SERVICES, f"{name} depends on unknown {dep}"
            condition = spec["condition"]
            if condition == "service_healthy":
                assert _has_healthcheck(SERVICES[dep]), f"{name}: {dep} has no health check"
            elif condition == "service_completed_successfully":
                assert SERVICES[dep].get("restart", "no") == "no", f"{dep} must run once"
            else:
                assert condition == "service_started", condition


def test_healthchecks_probe_the_port_their_service_listens_on() -> None:
    kafka = SERVICES["kafka"]
    internal = re.search(r"PLAINTEXT://:(\d+)", kafka["environment"]["KAFKA_LISTENERS"])
    assert internal and f"localhost:{internal.group(1)}" in " ".join(kafka["healthcheck"]["test"])
    prom = SERVICES["prometheus"]
    assert "localhost:9090/-/ready" in " ".join(prom["healthcheck"]["test"])


def test_named_volumes_are_declared_and_bind_mounts_exist() -> None:
    declared = set(_compose().get("volumes") or {})
    used = set()
    for name, service in SERVICES.items():
        for source, _ in _mounts(service):
            if source.startswith(("./", "/")):
                assert (REPO / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
                used.add(source)
    assert used == declared, "declared volumes nobody mounts"


def test_published_ports_are_loopback_only_and_distinct() -> None:
    host_ports = []
    for service in SERVICES.values():
        for port in service.get("ports", []):
            host, host_port, container_port = str(port).split(":")
            assert host == "127.0.0.1"
            host_ports.append(int(host_port))
            assert int(container_port) > 0
    assert len(host_ports) == len(set(host_ports))


def test_kafka_is_the_release_the_tests_run_and_topics_use_the_same_image() -> None:
    assert SERVICES["kafka"]["image"] == f"apache/kafka:{KAFKA_TESTED}"
    assert SERVICES["topics"]["image"] == SERVICES["kafka"]["image"]


def test_the_one_shot_creates_every_source_topic_before_the_guard_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    topics = SERVICES["topics"]
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"
    script = " ".join(topics["command"])
    args = shlex.split(script)
    assert "--if-not-exists" in args and "--create" in args  # a rerun is harmless
    assert args[args.index("--bootstrap-server") + 1] == "kafka:9092"
    created = {args[i + 1] for i, a in enumerate(args) if a == "--topic"}
    guard = SERVICES["guard"]
    assert guard["depends_on"] == {"topics": {"condition": "service_completed_successfully"}}
    settings = _guard_settings(monkeypatch)
    assert set(settings.topics) <= created
    assert settings.missing_sources == "wait"  # and waits, should a topic go missing later


def _guard_settings(monkeypatch: pytest.MonkeyPatch) -> Any:
    guard = SERVICES["guard"]
    for name, value in guard["environment"].items():
        monkeypatch.setenv(name, str(value).replace("/app/schemas", str(REPO / "schemas")))
    return load_settings(_mounted_file("guard", "/etc/guard/guard.yaml"))


def test_the_guard_has_a_stable_instance_id_and_cannot_be_scaled_into_duplicates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    guard = SERVICES["guard"]
    settings = _guard_settings(monkeypatch)
    assert settings.kafka.instance_id == guard["environment"]["GUARD_KAFKA__INSTANCE_ID"]
    assert settings.kafka.instance_id == guard["container_name"]  # not a random hostname
    assert settings.kafka.effective_transactional_id() == f"{settings.kafka.group_id}-guard-0"


def test_the_state_dir_is_a_named_volume() -> None:
    guard = SERVICES["guard"]
    state_dir = guard["environment"]["GUARD_STATE_DIR"]
    assert state_dir == "/var/lib/guard"
    named = [s for s, t in _mounts(guard) if t == state_dir]
    assert named and not named[0].startswith(("./", "/"))


def test_prometheus_loads_the_rules_it_is_given() -> None:
    config = yaml.safe_load(
        _mounted_file("prometheus", "/etc/prometheus/prometheus.yml").read_text()
    )
    for rule_file in config["rule_files"]:
        assert _mounted_file("prometheus", rule_file).is_file()


def test_grafana_is_provisioned_with_the_prometheus_source_and_the_dashboard() -> None:
    grafana = SERVICES["grafana"]
    assert grafana["depends_on"]["prometheus"]["condition"] == "service_healthy"
    sources = _mounted_file("grafana", "/etc/grafana/provisioning/datasources")
    [source] = [
        d for p in sources.glob("*.yml") for d in yaml.safe_load(p.read_text())["datasources"]
    ]
    url = re.fullmatch(r"http://(\w+):(\d+)", source["url"])
    assert url and url.group(1) in SERVICES
    assert any(str(p).endswith(f":{url.group(2)}") for p in SERVICES[url.group(1)]["ports"])
    providers = _mounted_file("grafana", "/etc/grafana/provisioning/dashboards")
    [provider] = [
        d for p in providers.glob("*.yml") for d in yaml.safe_load(p.read_text())["providers"]
    ]
    dashboards = _mounted_file("grafana", provider["options"]["path"])
    assert list(dashboards.glob("*.json"))
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert _mounted_file("grafana", home).is_file()
