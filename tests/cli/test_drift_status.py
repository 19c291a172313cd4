"""`guard drift status` on window profiles as read back from the profiles topic: drift, too few
records, open windows, instances that stopped, an unknown subject."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from guard.cli.drift_status import status
from guard.cli.main import GuardGroup
from guard.config.settings import MonitoringSettings
from guard.contracts import load_registry
from guard.monitoring.baseline import Baseline, plan_record, save_baseline
from guard.monitoring.plan import plan_subject
from guard.monitoring.profile import WindowMeta, WindowProfile
from guard.monitoring.profiles_topic import ProfileRead
from tests.fixtures.configs import write_config
from tests.monitoring.helpers import profile_values
from tests.monitoring.streams import stream, write_schemas


@click.group(cls=GuardGroup)
def cli() -> None:
    """The guard's error handling around the command under test."""


@cli.group()
def drift() -> None:
    """As the `guard drift` group holds it."""


drift.add_command(status)


def _config(
    tmp_path: Path,
    bootstrap: str,
    source: str,
    group: str,
    unique: Callable[[str], str],
    client: str = "kafka-python",
) -> Path:
    schemas = write_schemas(tmp_path / "schemas")
    config: dict[str, Any] = {
        "kafka": {
            "client": client,
            "bootstrap_servers": bootstrap,
            "group_id": group,
            "instance_id": "one",
        },
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


def test_status_for_an_unknown_subject_exits_2(
    tmp_path: Path, unique: Callable[[str], str]
) -> None:
    config = _config(tmp_path, "127.0.0.1:1", "events", "g", unique)
    done = CliRunner().invoke(cli, ["drift", "status", "-c", str(config), "--subject", "nope"])
    assert done.exit_code == 2 and "no contracts for subject 'nope'" in done.output


def _profiles(
    tmp_path: Path, unique: Callable[[str], str], windows: list[tuple[WindowMeta, list[bytes]]]
) -> tuple[Path, list[WindowProfile]]:
    """A config (count windows of 500, min_records 100), a saved baseline of a stable stream,
    and the window profiles as `guard drift status` reads them back from the topic."""
    config = _config(tmp_path, "127.0.0.1:1", "events", "g", unique)
    schemas = tmp_path / "schemas"
    registry = load_registry(schemas)
    plan = plan_subject(registry.subject("events"), MonitoringSettings())
    base = profile_values(registry, plan, stream(2000, seed=100))
    save_baseline(schemas, Baseline("events", base, {"kind": "test"}, plan=plan_record(plan)))
    out = []
    for meta, values in windows:
        p = profile_values(registry, plan, values)
        p.meta = meta
        back = WindowProfile.from_json(json.loads(json.dumps(p.to_json())))
        assert back.meta is not None
        back.meta.published_at = meta.ended_at or meta.started_at + 1
        out.append(back)
    return config, out


def _status(
    monkeypatch: pytest.MonkeyPatch, profiles: list[WindowProfile], *args: str
) -> tuple[dict[str, Any], str]:
    import guard.monitoring.status as status_module

    read = ProfileRead({f"k{i}": p for i, p in enumerate(profiles)})
    monkeypatch.setattr(status_module, "read_profiles", lambda settings: read)
    as_json = CliRunner().invoke(cli, ["drift", "status", *args, "--json"])
    state = json.loads(as_json.output)["subjects"]["events"]
    drift = state["state"] == "drift"
    assert as_json.exit_code == (1 if drift else 0), as_json.output
    text = CliRunner().invoke(cli, ["drift", "status", *args])
    assert text.exit_code == (1 if drift else 0), text.output
    return state, text.output


def test_status_exits_1_on_drift_and_0_when_every_field_is_ok(
    tmp_path: Path, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = time.time()
    for drift, code in ((None, 0), ("null_rate", 1)):
        config, profiles = _profiles(
            tmp_path,
            unique,
            [
                (
                    WindowMeta("events", "one", 0, now - 70, now - 10, final=True),
                    stream(500, seed=7, drift=drift, drift_at=0),
                )
            ],
        )
        import guard.monitoring.status as status_module

        read = ProfileRead({f"k{i}": p for i, p in enumerate(profiles)})
        monkeypatch.setattr(status_module, "read_profiles", lambda settings, read=read: read)
        for extra in ([], ["--json"]):
            done = CliRunner().invoke(cli, ["drift", "status", "-c", str(config), *extra])
            assert done.exit_code == code, (drift, extra, done.output)


def test_status_is_the_newest_closed_window_not_a_young_open_snapshot(
    tmp_path: Path, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drifting closed window, then the next window's first snapshot (20 records): the
    state is the closed window's drift, the snapshot is shown as in progress."""
    now = time.time()
    config, profiles = _profiles(
        tmp_path,
        unique,
        [
            (
                WindowMeta("events", "one", 0, now - 70, now - 10, final=True),
                stream(500, seed=7, drift="null_rate", drift_at=0),
            ),
            (WindowMeta("events", "one", 1, now - 10), stream(20, seed=8)),
        ],
    )
    state, text = _status(monkeypatch, profiles, "-c", str(config))
    assert state["state"] == "drift" and state["records"] == 500
    assert state["fields"]["note"]["drift"] == ["null_rate_abs"]
    assert state["in_progress"] == {
        "records": 20,
        "windows": 1,
        "instances": ["one"],
        "quarantined": 0,
    }
    assert text.startswith("events: drift - 500 records in 1 window(s) from 1 instance(s) (one)")
    assert "in progress (20 records): 1 open window(s) from one, checked when closed" in text


def test_status_below_min_records_is_insufficient_data_not_ok(
    tmp_path: Path, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = time.time()
    config, profiles = _profiles(
        tmp_path,
        unique,
        [
            (
                WindowMeta("events", "one", 0, now - 70, now - 10, final=True),
                stream(40, seed=7, drift="null_rate", drift_at=0),
            )
        ],
    )
    state, text = _status(monkeypatch, profiles, "-c", str(config))
    assert state["state"] == "insufficient data" and state["min_records"] == 100
    assert {f["state"] for f in state["fields"].values()} == {"-"}
    assert text.startswith("events: insufficient data - 40 records")
    assert "checks need 100 records" in text


def test_status_of_a_small_window_with_a_new_field_is_drift_and_exits_1(
    tmp_path: Path, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Schema changes are reported at any size: 60 records, a new undeclared field in about
    a third of them. The engine alerts it, so the state is drift (exit 1), not
    "insufficient data" (exit 0)."""
    now = time.time()
    config, profiles = _profiles(
        tmp_path,
        unique,
        [
            (
                WindowMeta("events", "one", 0, now - 70, now - 10, final=True),
                stream(60, seed=7, drift="new_field", drift_at=0),
            )
        ],
    )
    state, text = _status(monkeypatch, profiles, "-c", str(config))
    assert [(a["field"], a["statistic"]) for a in state["alerts"]] == [("promo", "new_field")]
    assert state["state"] == "drift"
    assert text.startswith("events: drift - 60 records")


def test_status_with_only_an_open_window_is_insufficient_data(
    tmp_path: Path, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = time.time()
    config, profiles = _profiles(
        tmp_path, unique, [(WindowMeta("events", "one", 0, now - 5), stream(30, seed=1))]
    )
    state, text = _status(monkeypatch, profiles, "-c", str(config))
    assert (state["state"], state["records"], state["instances"]) == ("insufficient data", 0, [])
    assert state["in_progress"]["records"] == 30
    assert text.startswith(
        "events: insufficient data - 0 records in 0 window(s) from 0 instance(s);"
    )


def test_status_leaves_out_instances_that_stopped_unless_max_age_says_otherwise(
    tmp_path: Path, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`gone` closed a drifting 60 s window two hours ago and stopped; `one` is current and
    stable. By default (3 window lengths) `gone` is left out and listed as stale."""
    now = time.time()
    config, profiles = _profiles(
        tmp_path,
        unique,
        [
            (
                WindowMeta("events", "gone", 0, now - 7260, now - 7200, final=True),
                stream(500, seed=7, drift="null_rate", drift_at=0),
            ),
            (WindowMeta("events", "one", 0, now - 70, now - 10, final=True), stream(500, 9)),
        ],
    )
    state, text = _status(monkeypatch, profiles, "-c", str(config))
    assert (state["state"], state["instances"], state["stale_instances"]) == (
        "ok",
        ["one"],
        ["gone"],
    )
    assert "left out, no recent window (see --max-age): gone" in text
    wide, _ = _status(monkeypatch, profiles, "-c", str(config), "--max-age", "86400")
    assert wide["state"] == "drift" and wide["instances"] == ["gone", "one"]
