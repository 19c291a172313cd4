"""The window history on the real broker: summaries the monitor publishes on the profiles
topic are what a second instance starts from and what `guard drift history` shows."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from guard.cli.main import cli
from guard.config.settings import GuardSettings
from guard.contracts import load_registry
from guard.localbroker import LocalKafka
from guard.monitoring.observer import MonitoringObserver
from guard.service import build_service
from tests.fixtures.configs import write_config
from tests.integration.monitoring.kafka_helpers import create_topic, produce
from tests.monitoring.streams import stream


@pytest.mark.integration
def test_a_second_instance_and_the_history_command_see_every_window_summary(
    kafka: LocalKafka, unique: Callable[[str], str], tmp_path: Path, schemas: Path
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("events")
    config = {
        "kafka": {"bootstrap_servers": bootstrap, "group_id": unique("g"), "instance_id": "a"},
        "schemas_dir": str(schemas),
        "state_dir": str(tmp_path / "state"),
        "batch": {"max_records": 250, "poll_timeout_ms": 200},
        "topics": {source: {"subject": "events"}},
        "monitoring": {
            "enabled": True,
            "windows": {"records": 500, "seconds": None},
            "baseline": {"source": "learn", "learn_windows": 2, "save": False},
            "drift_topic": unique("drift"),
            "profiles_topic": unique("profiles"),
        },
    }
    settings = GuardSettings(**config)  # type: ignore[arg-type]
    registry = load_registry(schemas)
    create_topic(bootstrap, source, 1)
    produce(bootstrap, source, stream(3000, seed=5), 1, int(time.time() * 1000))
    first = MonitoringObserver(settings, registry)
    first.start()
    summary = build_service(settings, registry, observers=[first]).run(
        max_records=3000, idle_timeout=120
    )
    assert summary.stopped_by == "max-records", summary

    second_cfg = json.loads(json.dumps(config))
    second_cfg["kafka"]["instance_id"] = "b"
    second = MonitoringObserver(GuardSettings(**second_cfg), registry)
    second.start()  # reads the shared history from the profiles topic
    state = second._state["events"]
    assert [(h.instance, h.index, h.records) for h in state.history] == [
        ("a", i, 500) for i in range(6)
    ]
    assert state.history_index == 0  # b has written nothing yet

    path = write_config(tmp_path / "guard.yaml", config)
    result = CliRunner().invoke(cli, ["drift", "history", "-c", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["subjects"]["events"]
    assert data["windows"] == 6
    assert {j["metric"] for j in data["newest_judged"]} >= {"quarantine_rate", "null_rate:note"}
