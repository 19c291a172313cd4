"""`guard drift report`: exit codes, outputs and input errors."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from guard.cli.drift_report import report
from guard.cli.main import GuardGroup

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "examples" / "data"
BASELINE = str(DATA / "orders-baseline.jsonl")
SCHEMAS = str(REPO / "schemas")


def _cli() -> click.Group:
    """`guard` with a `drift` group holding `report`, as guard.cli.main mounts it."""

    @click.group(cls=GuardGroup)
    def guard() -> None:
        pass

    @guard.group()
    def drift() -> None:
        pass

    drift.add_command(report)
    return guard


def run(*args: str) -> Result:
    return CliRunner().invoke(_cli(), ["drift", "report", "--schemas-dir", SCHEMAS, *args])


@pytest.fixture(scope="module")
def stable(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    out = tmp_path_factory.mktemp("stable")
    current = str(DATA / "orders-current-stable.jsonl")
    return run("-s", "orders", "-b", BASELINE, "-c", current, "--out", str(out)), out


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    out = tmp_path_factory.mktemp("drifted")
    current = str(DATA / "orders-current-drifted.jsonl")
    return run("-s", "orders", "-b", BASELINE, "-c", current, "--out", str(out)), out


def test_stable_data_exits_zero_and_writes_every_output(stable: tuple[Result, Path]) -> None:
    result, out = stable
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "orders v2: no drift; 0 of 14 fields drifted, 0 contract failure cases",
        str(out / "report.html"),
        str(out / "report.md"),
        str(out / "report.json"),
        str((out / "data_docs" / "index.html").resolve()),
    ]


def test_drifted_data_exits_one_and_says_why(drifted: tuple[Result, Path]) -> None:
    result, out = drifted
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[0] == (
        "orders v2: DRIFT (fields_drifted, new_undeclared_fields, contract_failures); "
        "5 of 14 fields drifted, 10 contract failure cases"
    )
    assert json.loads((out / "report.json").read_text())["verdict"] == "drift"


def test_more_current_files_may_follow_as_arguments(tmp_path: Path) -> None:
    one = tmp_path / "one.jsonl"
    one.write_text('{"not": "an order"}\n')
    two = str(tmp_path / "two.jsonl")
    result = run("-s", "orders", "-b", BASELINE, "-c", str(one), two, "--out", str(tmp_path))
    assert result.exit_code == 2
    assert f"error: {tmp_path / 'two.jsonl'}: no such file" in result.stderr


def test_a_threshold_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    result = run(
        "-s", "orders", "-b", BASELINE, "-c", BASELINE, "--out", str(tmp_path), "--p-value", "2"
    )
    assert result.exit_code == 2
    assert "--p-value" in result.stderr


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing current", "no such file"),
        ("empty current", "current: no JSON object records"),
        ("unknown subject", "no contracts for subject 'nope'"),
        ("malformed baseline", "not a usable JSON object"),
        ("profile as baseline", "this is a baseline profile"),
        ("unknown version", "subject 'orders' has no version 9"),
    ],
)
def test_bad_input_exits_two_with_one_clear_line(tmp_path: Path, case: str, expected: str) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"amount": 1}\n{"amount": \n')
    profile = tmp_path / "baseline-v1.json"
    profile.write_text('{"format": 1, "profile": {}}')
    base, cur, subject, extra = BASELINE, BASELINE, "orders", []
    if case == "missing current":
        cur = str(tmp_path / "nope.jsonl")
    elif case == "empty current":
        cur = str(empty)
    elif case == "unknown subject":
        subject = "nope"
    elif case == "malformed baseline":
        base = str(bad)
    elif case == "profile as baseline":
        base = str(profile)
    else:
        extra = ["--version", "9"]
    result = run("-s", subject, "-b", base, "-c", cur, "--out", str(tmp_path / "out"), *extra)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and expected in result.stderr
    assert "Traceback" not in result.output


def test_the_example_workflow_runs_the_commands_on_files_that_exist() -> None:
    import yaml

    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "guard-ci.yml").read_text())
    steps = workflow["jobs"]["contracts"]["steps"]
    commands = " ".join(s.get("run", "") for s in steps)
    assert "guard schemas check" in commands
    words = commands.split()
    start = words.index("drift")
    args = words[start + 2 : words.index("--out", start) + 2]
    for flag in ("--baseline", "--current"):
        assert (REPO / words[words.index(flag) + 1]).is_file()
    result = CliRunner().invoke(_cli(), ["drift", "report", *args, "--help"])
    assert result.exit_code == 0


def test_the_example_data_is_what_make_samples_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    loader = importlib.util.spec_from_file_location("make_samples", DATA / "make_samples.py")
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    monkeypatch.setattr(module, "HERE", tmp_path)
    module.main()
    made_files = sorted(tmp_path.glob("*.jsonl"))
    assert len(made_files) == 3
    for made in made_files:
        assert made.read_bytes() == (DATA / made.name).read_bytes(), made.name
