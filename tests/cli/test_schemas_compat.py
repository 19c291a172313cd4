"""`guard schemas check`, `guard schemas diff` and `guard schemas suggest`."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from guard.cli.main import cli

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = str(REPO / "schemas")
DRIFTED = str(REPO / "examples" / "data" / "orders-current-drifted.jsonl")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["schemas", *args])


def history(root: Path, *versions: str, mode: str | None = None) -> Path:
    """A subject `s` whose v1, v2, ... have the given `fields:` bodies."""
    subject = root / "s"
    subject.mkdir(parents=True)
    for number, fields in enumerate(versions, start=1):
        (subject / f"v{number}.yaml").write_text(
            f"subject: s\nversion: {number}\nfields: {fields}\n", encoding="utf-8"
        )
    if mode is not None:
        (subject / "subject.yaml").write_text(f"compatibility: {mode}\n", encoding="utf-8")
    return root


def test_check_passes_the_repository_contracts() -> None:
    result = run("check", "--schemas-dir", SCHEMAS)
    assert result.exit_code == 0, result.output
    assert result.stdout == "orders: BACKWARD (v1, v2): ok\n"


def test_check_reports_each_break_with_field_old_new_and_why(tmp_path: Path) -> None:
    root = history(tmp_path, "{n: {type: integer, minimum: 0}}", "{n: {type: integer, minimum: 5}}")
    result = run("check", "--schemas-dir", str(root))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "s: BACKWARD (v1, v2): 1 break",
        "  v1 -> v2 backward n [minimum]: old: minimum 0; new: minimum 5; "
        "v2 raises the lower bound of 'n'",
    ]


def test_check_takes_the_mode_from_subject_yaml(tmp_path: Path) -> None:
    widened = ("{c: {type: string, enum: [A]}}", "{c: {type: string, enum: [A, B]}}")
    assert run("check", "--schemas-dir", str(history(tmp_path / "a", *widened))).exit_code == 0
    forward = history(tmp_path / "b", *widened, mode="FORWARD")
    result = run("check", "--schemas-dir", str(forward))
    assert result.exit_code == 1
    assert result.stdout.startswith("s: FORWARD (v1, v2): 1 break")


def test_check_mode_option_overrides_every_subject() -> None:
    result = run("check", "--schemas-dir", SCHEMAS, "--mode", "full")
    assert result.exit_code == 1
    assert result.stdout.startswith("orders: FULL (v1, v2): 6 breaks")


def test_check_json_lists_the_breaks(tmp_path: Path) -> None:
    root = history(tmp_path, "{n: {type: integer}}", "{n: {type: string}}", mode="NONE")
    result = run("check", "--schemas-dir", str(root), "--json", "--mode", "FULL")
    (subject,) = json.loads(result.stdout)
    assert (subject["mode"], subject["compatible"]) == ("FULL", False)
    assert {b["direction"] for b in subject["breaks"]} == {"backward", "forward"}


def test_check_with_a_broken_subject_yaml_exits_two(tmp_path: Path) -> None:
    root = history(tmp_path, "{n: {type: integer}}", mode="SIDEWAYS")
    result = run("check", "--schemas-dir", str(root))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {root / 's' / 'subject.yaml'}: compatibility:")


def test_diff_shows_changes_and_both_directions() -> None:
    result = run("diff", "--schemas-dir", SCHEMAS, "orders", "v1", "2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "orders v1 -> orders v2"
    assert "  ~ currency.enum: [EUR, USD, GBP] -> [EUR, USD, GBP, CHF]" in lines
    assert "BACKWARD (v2 reads v1 data): ok" in lines
    assert "FORWARD (v1 reads v2 data): 6 breaks" in lines
    assert "  currency [values]: v1 rejects [CHF], which v2 allows in 'currency'" in lines


def test_diff_of_an_unknown_version_is_a_usage_error() -> None:
    result = run("diff", "--schemas-dir", SCHEMAS, "orders", "v1", "v7")
    assert result.exit_code == 2
    assert "has no version v7 (known: v1, v2)" in result.stderr


def test_suggest_prints_the_next_version_and_explains_on_stderr() -> None:
    result = run("suggest", "--schemas-dir", SCHEMAS, "--subject", "orders", DRIFTED)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("subject: orders\nversion: 3\n")
    assert "  gift_wrap: {type: boolean, required: false}\n" in result.stdout
    assert "+ gift_wrap: field_added: boolean (170 of 500, 34.0%)" in result.stderr
    assert "! amount: out_of_bounds: 5 values break minimum 0" in result.stderr
    assert "v3 under BACKWARD: 1 compatibility breaks" in result.stderr


def test_suggest_out_writes_a_loadable_contract_and_never_overwrites(tmp_path: Path) -> None:
    from guard.contracts import load_contract

    target = tmp_path / "orders" / "v3.yaml"
    args = ("suggest", "--schemas-dir", SCHEMAS, "-s", "orders", "--out", str(target), DRIFTED)
    assert run(*args).exit_code == 0
    contract = load_contract(target)
    assert (contract.version, "gift_wrap" in contract.spec.fields) == (3, True)
    again = run(*args)
    assert again.exit_code == 2
    assert "already exists" in again.stderr


def test_suggest_with_nothing_to_change_says_so(tmp_path: Path) -> None:
    data = tmp_path / "ok.jsonl"
    data.write_text('{"n": 1}\n')
    root = history(tmp_path / "schemas", "{n: {type: integer}}")
    result = run("suggest", "--schemas-dir", str(root), "-s", "s", str(data))
    assert (result.exit_code, result.stdout) == (0, "")
    assert "s v1 already accepts these records" in result.stderr


def test_suggest_lists_keys_a_contract_cannot_name_instead_of_crashing(tmp_path: Path) -> None:
    data = tmp_path / "odd.jsonl"
    record = {"n": 1, "@type": "Order", "first name": "Ada", "a.b": 2, "m": 3}
    data.write_text(json.dumps(record) + "\n")
    root = history(tmp_path / "schemas", "{n: {type: integer}}")
    result = run("suggest", "--schemas-dir", str(root), "-s", "s", "--json", str(data))
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [(p["field"], p["applied"]) for p in doc["proposals"]] == [
        ("@type", False),
        ("first name", False),
        ("a.b", False),
        ("m", True),
    ]
    assert "! @type: name_not_allowed: name not allowed in a contract: '@type'" in result.stderr
    assert "m: {type: integer, required: false}" in doc["contract"]


def test_suggest_with_only_unappliable_observations_does_not_claim_acceptance(
    tmp_path: Path,
) -> None:
    data = tmp_path / "odd.jsonl"
    data.write_text('{"n": 1, "@type": "Order"}\n')
    root = history(tmp_path / "schemas", "{n: {type: integer}}")
    result = run("suggest", "--schemas-dir", str(root), "-s", "s", str(data))
    assert (result.exit_code, result.stdout) == (0, "")
    assert "already accepts" not in result.stderr
    assert "s v1: no change to apply; 1 observation listed above needs a person" in result.stderr
