"""`guard drift status` after a real `guard run` with monitoring: the drift topic holds the
alerts (read_committed), the profiles topic is compacted, and the status shows the drift."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from guard.localbroker import LocalKafka
from guard.verify import read_topic
from tests.cli.test_drift_status import _config, cli
from tests.fixtures.guard_process import GuardProcess
from tests.integration.monitoring.kafka_helpers import create_topic, produce
from tests.monitoring.streams import stream


@pytest.mark.integration
def test_run_alerts_on_the_drift_topic_and_status_shows_the_drifting_field(
    kafka: LocalKafka,
    kafka_client: str,
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
    config = _config(tmp_path, bootstrap, source, unique("group"), unique, kafka_client)
    settings = json.loads(config.read_text())["monitoring"]

    # Stops on its record count, not on a quiet spell a busy machine can also make.
    done = GuardProcess(
        config, subprocess_env, "run", "--max-records", "2500", "--idle-timeout", "120"
    ).finish()
    assert done["records"] == 2500

    alerts = [
        json.loads(r.value or b"")
        for r in read_topic(bootstrap, settings["drift_topic"], client=kafka_client)
    ]
    assert alerts, "the drift raised alerts"
    assert {(a["field"], a["statistic"]) for a in alerts} == {
        ("note", "null_rate_abs"),
        ("note", "history_null_rate"),  # the step, against the previous window (history)
    }
    against_baseline = [a for a in alerts if a["statistic"] == "null_rate_abs"]
    assert sorted(a["window"]["records"] for a in against_baseline) == [500, 500]  # both drifted
    [step] = [a for a in alerts if a["statistic"] == "history_null_rate"]
    assert step["detail"]["strategy"] == "rate_of_change"
    learned = tmp_path / "state" / "baselines" / "events" / "baseline-v1.json"
    assert learned.is_file(), "learned and saved in the state dir"
    assert not (tmp_path / "schemas" / "events" / "baseline-v1.json").exists(), "never in schemas"

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    try:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, settings["profiles_topic"])]
        )
    finally:
        admin.close()
    assert "compact" in json.dumps(described)

    as_json = CliRunner().invoke(cli, ["drift", "status", "-c", str(config), "--json"])
    assert as_json.exit_code == 1, as_json.output  # drift: CI fails
    state = json.loads(as_json.stdout)["subjects"]["events"]
    assert state["state"] == "drift" and state["instances"] == ["one"]
    assert state["baseline"]["version"] == 1 and state["records"] == 500
    assert state["fields"]["note"]["drift"] == ["null_rate_abs"]
    assert state["fields"]["amount"]["state"] == "ok"
    assert "categories" in state["fields"]["country"] and "top" not in state["fields"]["country"]

    text = CliRunner().invoke(cli, ["drift", "status", "-c", str(config)])
    assert text.exit_code == 1, text.output
    assert text.stdout.startswith("events: drift - 500 records in 1 window(s) from 1 instance(s)")
    assert "ALERT note null_rate_abs=" in text.stdout


@pytest.mark.integration
def test_status_without_profiles_says_so(
    kafka: LocalKafka, kafka_client: str, unique: Callable[[str], str], tmp_path: Path
) -> None:
    config = _config(
        tmp_path, kafka.bootstrap_servers, unique("events"), unique("group"), unique, kafka_client
    )
    done = CliRunner().invoke(cli, ["drift", "status", "-c", str(config)])
    assert done.exit_code == 0 and done.output.strip() == "no window profiles found"
