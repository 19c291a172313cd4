"""`guard schemas check`, `guard schemas diff` and `guard schemas suggest`."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from guard.cli.main import cli
from tests.fixtures.paths import REPO

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
    assert lines[-1] == "orders mode BACKWARD: ok"  # FORWARD breaks do not matter under it


def test_diff_exits_1_when_the_step_breaks_the_subjects_mode(tmp_path: Path) -> None:
    root = history(tmp_path, "{n: {type: integer}}", "{n: {type: string}}", mode="BACKWARD")
    result = run("diff", "--schemas-dir", str(root), "s", "v1", "v2")
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[-1] == "s mode BACKWARD: BROKEN"
    as_json = run("diff", "--schemas-dir", str(root), "--json", "s", "v1", "v2")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["mode_broken"] is True


def test_diff_exits_0_when_only_a_direction_the_mode_ignores_breaks(tmp_path: Path) -> None:
    root = history(tmp_path, "{n: {type: integer}}", "{n: {type: number}}", mode="BACKWARD")
    assert run("diff", "--schemas-dir", str(root), "s", "v1", "v2").exit_code == 0
    root = history(tmp_path / "f", "{n: {type: integer}}", "{n: {type: number}}", mode="FORWARD")
    assert run("diff", "--schemas-dir", str(root), "s", "v1", "v2").exit_code == 1


def test_diff_of_an_unknown_version_is_a_usage_error() -> None:
    result = run("diff", "--schemas-dir", SCHEMAS, "orders", "v1", "v7")
    assert result.exit_code == 2
    assert "has no version v7 (known: v1, v2)" in result.stderr


def test_suggest_exits_1_and_says_why_when_every_change_breaks_the_subjects_mode() -> None:
    """orders v2 is open (allow) under BACKWARD: declaring gift_wrap cannot pass it."""
    result = run("suggest", "--schemas-dir", SCHEMAS, "--subject", "orders", DRIFTED)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert "! amount: out_of_bounds: 5 values break minimum 0" in result.stderr
    assert "! gift_wrap: field_added: boolean (170 of 500, 34.0%); left out: breaks BACKWARD" in (
        result.stderr
    )
    assert "orders: no next version to suggest under BACKWARD: every change" in result.stderr


def _open_subject(root: Path, mode: str) -> Path:
    """Subject `s`, v1 open (allow) with an enum field `c`."""
    (root / "s").mkdir(parents=True)
    (root / "s" / "v1.yaml").write_text(
        "subject: s\nversion: 1\nunknown_fields: allow\n"
        "fields: {c: {type: string, enum: [A, B]}}\n",
        encoding="utf-8",
    )
    (root / "s" / "subject.yaml").write_text(f"compatibility: {mode}\n", encoding="utf-8")
    return root


def _records(tmp_path: Path) -> str:
    data = tmp_path / "new.jsonl"
    lines = [{"c": "C" if i % 5 == 0 else "A", "promo": "X"} for i in range(100)]
    data.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return str(data)


def test_suggest_leaves_out_the_change_that_breaks_the_mode_and_proposes_the_rest(
    tmp_path: Path,
) -> None:
    """Widening the enum passes BACKWARD; declaring `promo` in an open object does not."""
    root = _open_subject(tmp_path / "schemas", "BACKWARD")
    result = run("suggest", "--schemas-dir", str(root), "-s", "s", _records(tmp_path))
    assert result.exit_code == 0, result.output
    assert "c: {type: string, enum: [A, B, C]}" in result.stdout
    assert "promo" not in result.stdout
    assert "v2 under BACKWARD: compatible; 1 change(s) left out because they break it" in (
        result.stderr
    )
    check = run("check", "--schemas-dir", str(root))
    assert check.exit_code == 0  # the subject as it is passes; and the proposal, written:
    (root / "s" / "v2.yaml").write_text(result.stdout, encoding="utf-8")
    assert run("check", "--schemas-dir", str(root)).exit_code == 0


def test_suggest_keeps_every_change_when_the_mode_allows_it(tmp_path: Path) -> None:
    root = _open_subject(tmp_path / "schemas", "NONE")
    result = run("suggest", "--schemas-dir", str(root), "-s", "s", _records(tmp_path))
    assert result.exit_code == 0, result.output
    assert "promo: {type: string, required: false}" in result.stdout
    assert "c: {type: string, enum: [A, B, C]}" in result.stdout
    assert "v2 under NONE: compatible\n" in result.stderr


def test_suggest_out_writes_a_loadable_contract_and_never_overwrites(tmp_path: Path) -> None:
    from guard.contracts import load_contract

    root = _open_subject(tmp_path / "schemas", "FORWARD")
    target = tmp_path / "out" / "s" / "v2.yaml"
    args = ("suggest", "--schemas-dir", str(root), "-s", "s", "--out", str(target))
    assert run(*args, _records(tmp_path)).exit_code == 0
    contract = load_contract(target)
    assert (contract.version, "promo" in contract.spec.fields) == (2, True)
    again = run(*args, _records(tmp_path))
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
    assert (result.exit_code, result.stdout) == (1, "")
    assert "already accepts" not in result.stderr
    assert "no change can be applied: 1 observation(s) need a person" in result.stderr
