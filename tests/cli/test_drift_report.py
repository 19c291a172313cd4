"""`guard drift report`: exit codes, outputs and input errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from guard.cli.drift_report import report
from guard.cli.main import GuardGroup
from tests.fixtures.paths import REPO

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
    return run("-s", "orders", "-b", BASELINE, "--current", current, "--out", str(out)), out


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    out = tmp_path_factory.mktemp("drifted")
    current = str(DATA / "orders-current-drifted.jsonl")
    return run("-s", "orders", "-b", BASELINE, "--current", current, "--out", str(out)), out


def test_stable_data_exits_zero_and_writes_every_output(stable: tuple[Result, Path]) -> None:
    result, out = stable
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "orders v2: no drift; 0 of 12 fields drifted, 0 records break the contract",
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
        "5 of 12 fields drifted, 10 records break the contract"
    )
    assert json.loads((out / "report.json").read_text())["verdict"] == "drift"


def test_more_current_files_may_follow_as_arguments(tmp_path: Path) -> None:
    one = tmp_path / "one.jsonl"
    one.write_text('{"not": "an order"}\n')
    two = str(tmp_path / "two.jsonl")
    result = run("-s", "orders", "-b", BASELINE, "--current", str(one), two, "--out", str(tmp_path))
    assert result.exit_code == 2
    assert f"error: {tmp_path / 'two.jsonl'}: no such file" in result.stderr


def test_a_threshold_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    result = run(
        "-s",
        "orders",
        "-b",
        BASELINE,
        "--current",
        BASELINE,
        "--out",
        str(tmp_path),
        "--p-value",
        "2",
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
    out = str(tmp_path / "out")
    result = run("-s", subject, "-b", base, "--current", cur, "--out", out, *extra)
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


# Standard drift cases on the numeric `amount` field: each breaks GX's quantiles (NaN), and
# must still give a report (all three files) and exit 1 with the field flagged, never a crash.
def _renamed(r: dict[str, Any]) -> None:
    r["total"] = r.pop("amount")


def _as_string(r: dict[str, Any]) -> None:
    r["amount"] = str(r["amount"])


def _absent(r: dict[str, Any]) -> None:
    del r["amount"]


def _odd_keys(r: dict[str, Any]) -> None:
    r.update({"@type": "Order", "first name": "Ada", "a.b": 1})


CHANGED: dict[str, Callable[[dict[str, Any]], None]] = {
    "renamed": _renamed,
    "as string": _as_string,
    "absent": _absent,
    "odd keys": _odd_keys,
}


def _changed_current(tmp: Path, change: Callable[[dict[str, Any]], None]) -> str:
    records = []
    for line in (DATA / "orders-current-stable.jsonl").read_text().splitlines():
        record = json.loads(line)
        change(record)
        records.append(json.dumps(record))
    path = tmp / "current.jsonl"
    path.write_text("\n".join(records) + "\n")
    return str(path)


Ran = tuple[Result, Path]


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Ran]:
    """Runs the report on the stable sample changed as CHANGED[case] says, once per case."""
    runs: dict[str, Ran] = {}

    def get(case: str) -> Ran:
        if case not in runs:
            tmp = tmp_path_factory.mktemp("changed")
            current = _changed_current(tmp, CHANGED[case])
            out = tmp / "out"
            result = run("-s", "orders", "-b", BASELINE, "--current", current, "--out", str(out))
            runs[case] = result, out
        return runs[case]

    return get


def _report(out: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return doc


@pytest.mark.parametrize("case", sorted(CHANGED))
def test_standard_drift_cases_give_a_report_and_exit_one(
    changed: Callable[[str], Ran], case: str
) -> None:
    result, out = changed(case)
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for name in ("report.html", "report.md", "report.json"):
        assert (out / name).is_file(), name
    doc = _report(out)
    assert doc["verdict"] == "drift"
    if case != "odd keys":
        amount = next(f for f in doc["fields"] if f["field"] == "amount")
        assert amount["status"] != "ok", amount


def test_a_renamed_field_is_reported_as_missing_and_the_new_one_as_new(
    changed: Callable[[str], Ran],
) -> None:
    _, out = changed("renamed")
    doc = _report(out)
    amount = next(f for f in doc["fields"] if f["field"] == "amount")
    assert amount["status"] == "drift"
    assert [a["statistic"] for a in amount["alerts"]] == ["missing_field"]
    assert (amount["current"]["absent_rate"], amount["current"]["null_rate"]) == (1.0, 0.0)
    new = [u for u in doc["undeclared_fields"] if u["new"]]
    assert [(u["field"], u["current_share"]) for u in new] == [("total", 1.0)]
    assert doc["reasons"][:2] == ["fields_drifted", "new_undeclared_fields"]
    fix = doc["suggested_fix"]
    # Making amount optional passes BACKWARD; declaring `total` in the open v2 cannot.
    applied = {(p["field"], p["change"]) for p in fix["proposals"] if p["applied"]}
    assert applied == {("amount", "made_optional")}
    assert fix["version"] == 3 and fix["compatibility_mode"] == "BACKWARD"
    assert [b["field"] for b in fix["compatibility_breaks"]] == ["total"]


def test_json_keys_a_contract_cannot_name_are_proposals_not_a_crash(
    changed: Callable[[str], Ran],
) -> None:
    _, out = changed("odd keys")
    doc = _report(out)
    assert {u["field"] for u in doc["undeclared_fields"] if u["new"]} == {
        "@type",
        "first name",
        "a.b",
    }
    proposals = doc["suggested_fix"]["proposals"] if doc["suggested_fix"] else []
    rejected = {p["field"]: p for p in proposals if p["change"] == "name_not_allowed"}
    assert set(rejected) == {"@type", "first name", "a.b"}
    for p in rejected.values():
        assert not p["applied"]
        assert p["detail"].startswith("name not allowed in a contract: ")


def test_two_runs_on_the_same_input_write_identical_json(tmp_path: Path) -> None:
    current = str(DATA / "orders-current-drifted.jsonl")
    outputs = []
    for name in ("one", "two"):
        out = tmp_path / name
        result = run("-s", "orders", "-b", BASELINE, "--current", current, "--out", str(out))
        assert result.exit_code == 1, result.output
        outputs.append(json.loads((out / "report.json").read_text()))
    one, two = outputs
    assert one["fields"] == two["fields"]  # every p-value, effect and summary
    assert one == two


def test_great_expectations_missing_exits_two_with_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pandera missing was exit 2 with the install hint; Great Expectations missing (or
    failing to import: its pins break often) was exit 4, 'a bug in ingest-guard'."""
    import sys

    monkeypatch.delitem(sys.modules, "guard.reports.gx_corroborate", raising=False)
    monkeypatch.delitem(sys.modules, "guard.reports.gx_run", raising=False)
    monkeypatch.setitem(sys.modules, "great_expectations", None)  # import raises ImportError
    out = str(tmp_path / "out")
    result = run("-s", "orders", "-b", BASELINE, "--current", BASELINE, "--out", out)
    assert result.exit_code == 2, result.output
    assert "great_expectations is missing" in result.stderr and "--no-gx" in result.stderr
    no_gx = run("-s", "orders", "-b", BASELINE, "--current", BASELINE, "--out", out, "--no-gx")
    assert no_gx.exit_code == 0, no_gx.output


@pytest.mark.parametrize(
    ("option", "value"),
    [("--p-value", "0"), ("--p-value", "1"), ("--distance", "0"), ("--null-rate", "0")],
)
def test_a_threshold_the_settings_refuse_is_a_usage_error_not_a_crash(
    tmp_path: Path, option: str, value: str
) -> None:
    """The options took [0, 1] while the settings hold p_value to (0, 0.5] and the other
    thresholds to (0, 1]: these values passed click and crashed in pydantic (exit 4)."""
    out = str(tmp_path / "out")
    result = run("-s", "orders", "-b", BASELINE, "--current", BASELINE, "--out", out, option, value)
    assert result.exit_code == 2, result.output
    assert option in result.stderr and "Traceback" not in result.output
