"""`guard drift history`: the window summaries per subject and the newest one judged.

The summaries come from a seeded seasonal stream (benchmarks/history_calibration.py) in
place of the profiles topic's reader (`read_history`); the topic round trip itself is
covered by tests/monitoring/test_history.py (the monitor publishing summaries)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from benchmarks.history_calibration import seasonal_stream
from guard.cli.drift_history import history
from guard.cli.main import GuardGroup
from guard.monitoring import profiles_topic
from guard.monitoring.history import WindowSummary
from tests.fixtures.configs import write_config
from tests.monitoring.streams import write_schemas


@click.group(cls=GuardGroup)
def cli() -> None:
    """The guard's error handling around the command under test."""


@cli.group()
def drift() -> None:
    """As the `guard drift` group holds it."""


drift.add_command(history)


def _invoke(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, summaries: list[WindowSummary], *args: str
) -> tuple[int, str]:
    schemas = write_schemas(tmp_path / "schemas")
    config = write_config(
        tmp_path / "guard.yaml",
        {"schemas_dir": str(schemas), "topics": {"events": {"subject": "events"}}},
    )
    events = [replace(s, subject="events") for s in summaries]
    monkeypatch.setattr(profiles_topic, "read_history", lambda settings: {"events": events})
    result = CliRunner().invoke(cli, ["drift", "history", "-c", str(config), *args])
    return result.exit_code, result.output


def test_a_stable_history_exits_zero_and_shows_each_metric_with_its_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = _invoke(tmp_path, monkeypatch, seasonal_stream(24 * 14, 1), "--json", "--last", "3")
    assert code == 0, out
    data = json.loads(out)["subjects"]["events"]
    assert data["windows"] == 24 * 14 and len(data["recent"]) == 3
    judged = {j["metric"]: j for j in data["newest_judged"]}
    assert judged["volume"]["strategy"] == "seasonal"
    assert judged["quarantine_rate"]["strategy"] == "rate_of_change"
    assert not any(j["anomalous"] for j in judged.values())


def test_a_quarantine_step_in_the_newest_window_exits_one_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summaries = seasonal_stream(24 * 14, 2, step_at=24 * 14 - 1)
    code, out = _invoke(tmp_path, monkeypatch, summaries)
    assert code == 1, out
    assert out.startswith("events: 336 window(s) in the history")
    assert "ALERT quarantine_rate = 0.1" in out and "(rate_of_change: expected unbounded .." in out
