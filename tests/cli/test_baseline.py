"""`guard baseline build`: profile reference files into the next versioned baseline file."""

from __future__ import annotations

import json
import random
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from guard.cli.baseline import baseline
from guard.cli.main import GuardGroup
from guard.config import load_settings
from guard.config.settings import MonitoringSettings
from guard.contracts import load_registry
from guard.monitoring.baseline import load_baseline, plan_mismatch
from guard.monitoring.drift import check_window
from guard.monitoring.plan import plan_subject
from tests.monitoring.helpers import profile_values
from tests.monitoring.streams import stream, write_schemas


@click.group(cls=GuardGroup)
def cli() -> None:
    """The guard's error handling around the command under test."""


cli.add_command(baseline)


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    schemas = write_schemas(tmp_path / "schemas")
    data = tmp_path / "ref.jsonl"
    data.write_bytes(b"\n".join([*stream(900, seed=3), b"{broken"]) + b"\n")
    return schemas, data


def test_build_writes_the_next_versioned_baseline_beside_the_contract(tmp_path: Path) -> None:
    schemas, data = _setup(tmp_path)
    args = ["baseline", "build", "--subject", "events", "--schemas-dir", str(schemas), str(data)]
    first = CliRunner().invoke(cli, args)
    second = CliRunner().invoke(cli, [*args, "--json"])
    assert first.exit_code == 0, first.output
    assert "events: baseline v1 from 901 records (900 profiled, 1 quarantined" in first.output
    summary = json.loads(second.output)
    assert summary["version"] == 2 and summary["path"] == str(
        schemas / "events" / "baseline-v2.json"
    )
    loaded = load_baseline(schemas, "events")
    assert loaded is not None and loaded.version == 2 and loaded.profile.records == 901
    assert loaded.source["kind"] == "files" and loaded.source["files"] == ["ref.jsonl"]


def test_build_to_an_explicit_path(tmp_path: Path) -> None:
    schemas, data = _setup(tmp_path)
    out = tmp_path / "elsewhere.json"
    done = CliRunner().invoke(
        cli,
        [
            "baseline",
            "build",
            "-s",
            "events",
            "--schemas-dir",
            str(schemas),
            "--out",
            str(out),
            str(data),
        ],
    )
    assert done.exit_code == 0, done.output
    assert json.loads(out.read_text())["profile"]["records"] == 901
    assert load_baseline(schemas, "events") is None


def test_an_unknown_subject_exits_2_naming_it(tmp_path: Path) -> None:
    schemas, data = _setup(tmp_path)
    done = CliRunner().invoke(
        cli, ["baseline", "build", "-s", "nope", "--schemas-dir", str(schemas), str(data)]
    )
    assert done.exit_code == 2 and "no contracts for subject 'nope'" in done.output


def test_a_missing_input_file_exits_2(tmp_path: Path) -> None:
    schemas, _ = _setup(tmp_path)
    done = CliRunner().invoke(
        cli, ["baseline", "build", "-s", "events", "--schemas-dir", str(schemas), "missing.jsonl"]
    )
    assert done.exit_code == 2 and "missing.jsonl: no such file" in done.output


def _coded(n: int, seed: int, new_code_share: float = 0.0) -> list[bytes]:
    """The `events` stream with `qty` as an integer code (1..5); a share of records get
    the new code 9."""
    rng = random.Random(seed)
    out = []
    for raw in stream(n, seed):
        record = json.loads(raw)
        if rng.random() < new_code_share:
            record["qty"] = 9
        out.append(json.dumps(record).encode())
    return out


def _config_with_categorical_qty(tmp_path: Path) -> Path:
    write_schemas(tmp_path / "schemas")
    config = {
        "schemas_dir": "schemas",  # relative to the config file
        "topics": {"events": {"subject": "events"}},
        "monitoring": {
            "enabled": True,
            "fields": {"events": {"qty": {"categorical": True}}},
        },
    }
    path = tmp_path / "guard.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def test_build_with_config_applies_per_field_categorical_so_a_new_code_alerts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An integer code made categorical under `monitoring.fields` in guard.yaml: a baseline
    built with --config counts its codes, so a new code alerts new_category (and js), not
    just ks."""
    monkeypatch.chdir(tmp_path)  # no ./schemas: the config's schemas_dir must be used
    config = _config_with_categorical_qty(tmp_path)
    data = tmp_path / "ref.jsonl"
    data.write_bytes(b"\n".join(_coded(2000, seed=3)) + b"\n")
    done = CliRunner().invoke(
        cli, ["baseline", "build", "-s", "events", "--config", str(config), "--json", str(data)]
    )
    assert done.exit_code == 0, done.output
    summary = json.loads(done.output)
    assert "qty" in summary["categorical_fields"] and "qty" in summary["values_in_clear"]

    settings = load_settings(config)
    registry = load_registry(settings.schemas_dir)
    made = load_baseline(settings.schemas_dir, "events")
    assert made is not None and made.plan is not None and "qty" in made.plan["categorical"]
    plan = plan_subject(registry.subject("events"), settings.monitoring)
    assert plan_mismatch(made, plan) is None
    window = profile_values(registry, plan, _coded(1000, seed=4, new_code_share=0.2))
    found = {(a.field, a.statistic) for a in check_window(plan, window, made.profile)}
    assert {("qty", "new_category"), ("qty", "js")} <= found


def test_a_baseline_built_without_the_config_is_flagged_by_the_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Built with the defaults, the baseline has no counts for `qty`: the observer, running
    with the config, logs a warning that names the field and the fix."""
    from structlog.testing import capture_logs

    from guard.monitoring.observer import MonitoringObserver

    config = _config_with_categorical_qty(tmp_path)
    data = tmp_path / "ref.jsonl"
    data.write_bytes(b"\n".join(_coded(500, seed=3)) + b"\n")
    schemas = tmp_path / "schemas"
    done = CliRunner().invoke(
        cli, ["baseline", "build", "-s", "events", "--schemas-dir", str(schemas), str(data)]
    )
    assert done.exit_code == 0, done.output
    assert "monitoring settings: defaults (pass --config" in done.output

    settings = load_settings(config)
    made = load_baseline(settings.schemas_dir, "events")
    assert made is not None
    plan = plan_subject(load_registry(schemas).subject("events"), settings.monitoring)
    assert plan_mismatch(made, plan) == {"no_baseline_categories": ["qty"], "not_tracked": []}
    with capture_logs() as logs:
        MonitoringObserver(settings, load_registry(schemas))
    [warning] = [e for e in logs if e["event"] == "baseline does not match the monitoring settings"]
    assert warning["log_level"] == "warning" and warning["no_baseline_categories"] == ["qty"]
    assert "guard baseline build --config" in warning["detail"]


def test_a_baseline_file_without_a_recorded_plan_is_checked_from_its_sketches(
    tmp_path: Path,
) -> None:
    """Files written before the plan was recorded: categories are inferred from the profile."""
    config = _config_with_categorical_qty(tmp_path)
    schemas, data = tmp_path / "schemas", tmp_path / "ref.jsonl"
    data.write_bytes(b"\n".join(_coded(500, seed=3)) + b"\n")
    args = ["baseline", "build", "-s", "events", "--schemas-dir", str(schemas), str(data)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    path = schemas / "events" / "baseline-v1.json"
    old = json.loads(path.read_text())
    del old["plan"]
    path.write_text(json.dumps(old))
    made = load_baseline(schemas, "events")
    assert made is not None and made.plan is None
    settings = load_settings(config)
    plan = plan_subject(load_registry(schemas).subject("events"), settings.monitoring)
    assert plan_mismatch(made, plan) == {"no_baseline_categories": ["qty"], "not_tracked": []}
    default_plan = plan_subject(load_registry(schemas).subject("events"), MonitoringSettings())
    assert plan_mismatch(made, default_plan) is None


def test_build_output_warns_that_category_values_are_stored_in_clear(tmp_path: Path) -> None:
    schemas, data = _setup(tmp_path)
    done = CliRunner().invoke(
        cli, ["baseline", "build", "-s", "events", "--schemas-dir", str(schemas), str(data)]
    )
    assert done.exit_code == 0, done.output
    assert "stores the values of enum-like fields in clear text (country, note, paid)" in (
        done.output
    )
    help_text = CliRunner().invoke(cli, ["baseline", "build", "--help"]).output
    assert "Privacy" in help_text and "clear text" in help_text
