"""`guard baseline build`: profile reference files into the next versioned baseline file."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from guard.cli.baseline import baseline
from guard.cli.main import GuardGroup
from guard.monitoring.baseline import load_baseline
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
