"""`guard drift status` after a real `guard run` with monitoring: the drift topic holds the
alerts (read_committed), the profiles topic is compacted, and the status shows the drift."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from guard.cli.drift_status import status
from guard.cli.main import GuardGroup
from guard.localbroker import LocalKafka
from guard.verify import read_topic
from tests.monitoring.kafka_helpers import GuardProcess, create_topic, produce, write_config
from tests.monitoring.streams import stream, write_schemas


@click.group(cls=GuardGroup)
def cli() -> None:
    """The guard's error handling around the command under test."""


@cli.group()
def drift() -> None:
    """As the `guard drift` group holds it."""


drift.add_command(status)


def _config(
    tmp_path: Path, bootstrap: str, source: str, group: str, unique: Callable[[str], str]
) -> Path:
    schemas = write_schemas(tmp_path / "schemas")
    config: dict[str, Any] = {
        "kafka": {"bootstrap_servers": bootstrap, "group_id": group, "instance_id": "one"},
        "schemas_dir": str(schemas),
        "batch": {"max_records": 200, "poll_timeout_ms": 200},
        "topics": {source: {"subject": "events"}},
        "monitoring": {
            "enabled": True,
            "windows": {"records": 500, "seconds": None},
            "baseline": {"source": "auto", "learn_windows": 2, "save": True},
            "drift_topic": unique("drift"),
            "profiles_topic": unique("profiles"),
        },
    }
    return write_config(tmp_path / "guard.yaml", config)


@pytest.mark.integration
def test_run_alerts_on_the_drift_topic_and_status_shows_the_drifting_field(
    kafka: LocalKafka,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("events")
    create_topic(bootstrap, source, 1)
    produce(
        bootstrap,
        source,
        stream(2500, seed=9, drift="null_rate", drift_at=1500),
        1,
        int(time.time() * 1000),
    )
    config = _config(tmp_path, bootstrap, source, unique("group"), unique)
    settings = json.loads(config.read_text())["monitoring"]

    done = GuardProcess(config, subprocess_env, "run", "--idle-timeout", "3").finish()
    assert done["records"] == 2500

    alerts = [json.loads(r.value or b"") for r in read_topic(bootstrap, settings["drift_topic"])]
    assert alerts, "the drift raised alerts"
    assert {(a["field"], a["statistic"]) for a in alerts} == {("note", "null_rate_abs")}
    assert sorted(a["window"]["records"] for a in alerts) == [500, 500]  # the two drifted windows
    assert (tmp_path / "schemas" / "events" / "baseline-v1.json").is_file(), "learned and saved"

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    try:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, settings["profiles_topic"])]
        )
    finally:
        admin.close()
    assert "compact" in json.dumps(described)

    as_json = CliRunner().invoke(cli, ["drift", "status", "-c", str(config), "--json"])
    assert as_json.exit_code == 0, as_json.output
    state = json.loads(as_json.output)["subjects"]["events"]
    assert state["state"] == "drift" and state["instances"] == ["one"]
    assert state["baseline"]["version"] == 1 and state["records"] == 500
    assert state["fields"]["note"]["drift"] == ["null_rate_abs"]
    assert state["fields"]["amount"]["state"] == "ok"
    assert "categories" in state["fields"]["country"] and "top" not in state["fields"]["country"]

    text = CliRunner().invoke(cli, ["drift", "status", "-c", str(config)])
    assert text.exit_code == 0, text.output
    assert text.output.startswith("events: drift - 500 records in 1 window(s) from 1 instance(s)")
    assert "ALERT note null_rate_abs=" in text.output


@pytest.mark.integration
def test_status_without_profiles_says_so(
    kafka: LocalKafka, unique: Callable[[str], str], tmp_path: Path
) -> None:
    config = _config(tmp_path, kafka.bootstrap_servers, unique("events"), unique("group"), unique)
    done = CliRunner().invoke(cli, ["drift", "status", "-c", str(config)])
    assert done.exit_code == 0 and done.output.strip() == "no window profiles found"


def test_status_for_an_unknown_subject_exits_2(
    tmp_path: Path, unique: Callable[[str], str]
) -> None:
    config = _config(tmp_path, "127.0.0.1:1", "events", "g", unique)
    done = CliRunner().invoke(cli, ["drift", "status", "-c", str(config), "--subject", "nope"])
    assert done.exit_code == 2 and "no contracts for subject 'nope'" in done.output
