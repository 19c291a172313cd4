"""`guard validate`: file mode on the command line, its output and exit codes."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from guard.cli.main import cli
from tests.fixtures.paths import REPO

REPO_SCHEMAS = REPO / "schemas"

ORDER: dict[str, Any] = {
    "order_id": "123e4567-e89b-42d3-a456-426614174000",
    "customer_email": "a@example.com",
    "amount": 12.5,
    "currency": "EUR",
    "quantity": 2,
    "created_at": "2026-11-03T10:15:00Z",
}
GOOD = json.dumps(ORDER).encode()


def _bad(**changes: Any) -> bytes:
    return json.dumps({**ORDER, **changes}).encode()


def _file(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _validate(tmp_path: Path, *args: str, stdin: bytes | None = None) -> Result:
    base = [
        "validate",
        "--subject",
        "orders",
        "--schemas-dir",
        str(REPO_SCHEMAS),
        "--quarantine-dir",
        str(tmp_path / "q"),
    ]
    return CliRunner().invoke(cli, [*base, *args], input=stdin)


def _quarantined(tmp_path: Path) -> list[dict[str, Any]]:
    files = list((tmp_path / "q").glob("orders-*.jsonl"))
    assert len(files) == 1
    return [json.loads(x) for x in files[0].read_text(encoding="utf-8").splitlines()]


def test_all_valid_exits_zero(tmp_path: Path) -> None:
    result = _validate(tmp_path, _file(tmp_path, "in.jsonl", GOOD + b"\n" + GOOD + b"\n"))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "orders: 2 records, 2 valid, 0 quarantined"
    assert not (tmp_path / "q").exists()


def test_any_quarantined_exits_one_and_names_the_quarantine_file(tmp_path: Path) -> None:
    name = _file(tmp_path, "in.jsonl", GOOD + b"\nnope\n" + _bad(currency="JPY") + b"\n")
    result = _validate(tmp_path, name)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "orders: 3 records, 1 valid, 2 quarantined"
    assert sorted(x.split() for x in lines[1:3]) == [["not_in_enum", "1"], ["not_json", "1"]]
    (path,) = (tmp_path / "q").glob("*.jsonl")
    assert lines[3] == f"quarantined records: {path}"


BAD_LINES: list[tuple[bytes, str | None]] = [
    (b"order_id=42&amount=3", "not_json"),
    (b'{"order_id": "\xff\xfe"}', "not_utf8"),
    (_bad(note="x" * (10 * 1024 * 1024)), "too_large"),
    (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "too_deep"),
    (b"[" * 10_000 + b"]" * 10_000, "too_deep"),
    (GOOD[:-1] + b', "s": NaN}', "not_finite"),
    (GOOD[:-1] + b', "s": Infinity}', "not_finite"),
    (GOOD[:-1] + b', "s": -Infinity}', "not_finite"),
    (GOOD.replace(b"12.5", b"1e400"), "out_of_range"),
    (GOOD[:-1] + b', "amount": 1}', "duplicate_key"),
    (_bad(quantity=2**70), "out_of_range"),
    (GOOD.replace(b'"quantity": 2', b'"quantity": ' + b"5" * 5000), "out_of_range"),
    (_bad(amount="12.50"), "wrong_type"),
    (_bad(quantity=True), "wrong_type"),
    (_bad(quantity=1.0), "wrong_type"),
    (json.dumps({k: v for k, v in ORDER.items() if k != "amount"}).encode(), "missing_field"),
    (_bad(amount=None), "null_not_allowed"),
    (b"[1]", "not_object"),
    (b'"s"', "not_object"),
    (_bad(currency="JPY"), "not_in_enum"),
    (_bad(coupon="x y"), "pattern_mismatch"),
    (_bad(items=[]), None),
    (_bad(customer_email="nope"), "bad_format"),
]


def test_every_bad_line_is_quarantined_and_the_next_one_still_validated(tmp_path: Path) -> None:
    data = b"".join(bad + b"\n" + GOOD + b"\n" for bad, _ in BAD_LINES)
    result = _validate(tmp_path, "--json", _file(tmp_path, "in.jsonl", data))
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    expected = [reason for _, reason in BAD_LINES if reason is not None]
    assert summary["total"] == 2 * len(BAD_LINES)
    assert summary["valid"] == 2 * len(BAD_LINES) - len(expected)
    quarantined = _quarantined(tmp_path)
    assert [q["headers"]["guard.reasons"].split(",")[0] for q in quarantined] == expected


def test_json_summary_parses(tmp_path: Path) -> None:
    name = _file(tmp_path, "in.jsonl", GOOD + b"\n" + _bad(amount="1") + b"\n")
    result = _validate(tmp_path, "--json", name)
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["subject"] == "orders"
    assert (summary["total"], summary["valid"], summary["quarantined"]) == (2, 1, 1)
    assert summary["by_reason"] == {"wrong_type": 1}
    assert summary["by_field"] == {"amount": 1}
    assert Path(summary["quarantine_file"]).is_file()


def test_progress_goes_to_stderr_as_json_lines_off_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUARD_PROGRESS_SECONDS", "0")
    data = GOOD + b"\n" + _bad(amount="1") + b"\n"
    result = _validate(tmp_path, "--json", _file(tmp_path, "in.jsonl", data))
    assert json.loads(result.stdout)["total"] == 2  # stdout keeps only the summary
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [p["done"] for p in lines] == [len(GOOD) + 1, len(data), len(data)]
    assert lines[-1]["task"] == "validating orders" and lines[-1]["total"] == len(data)
    assert lines[-1]["unit"] == "B" and lines[-1]["finished"] is True


def test_stdin_dash_is_validated(tmp_path: Path) -> None:
    result = _validate(tmp_path, "--json", "-", stdin=GOOD + b"\n\n" + b"oops\n")
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["total"] == 2
    (line,) = _quarantined(tmp_path)
    assert line["headers"]["guard.source.file"] == "<stdin>"
    assert line["headers"]["guard.source.line"] == "3"
    assert base64.b64decode(line["value_b64"]) == b"oops"


def test_quarantine_file_keeps_original_bytes(tmp_path: Path) -> None:
    bad = b'{"amount": "\xff"}'
    _validate(tmp_path, _file(tmp_path, "in.jsonl", bad + b"\n"))
    assert base64.b64decode(_quarantined(tmp_path)[0]["value_b64"]) == bad


def test_json_array_file_is_validated_element_wise(tmp_path: Path) -> None:
    doc = json.dumps([ORDER, ORDER, {**ORDER, "quantity": 0}]).encode()
    result = _validate(tmp_path, "--json", _file(tmp_path, "in.json", doc))
    summary = json.loads(result.stdout)
    assert (summary["total"], summary["valid"], summary["by_reason"]) == (
        3,
        2,
        {"out_of_range": 1},
    )


def test_broken_json_file_is_one_quarantined_record(tmp_path: Path) -> None:
    result = _validate(tmp_path, "--json", _file(tmp_path, "in.json", b"[" + GOOD))
    assert result.exit_code == 1
    assert json.loads(result.stdout)["by_reason"] == {"not_json": 1}


def test_several_files_are_summed(tmp_path: Path) -> None:
    a = _file(tmp_path, "a.jsonl", GOOD + b"\n")
    b = _file(tmp_path, "b.json", b"[" + GOOD + b"," + GOOD + b"]")
    result = _validate(tmp_path, "--json", a, b)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["total"] == 3


def test_accepted_versions_option_is_applied(tmp_path: Path) -> None:
    name = _file(tmp_path, "in.jsonl", _bad(channel="web") + b"\n")
    assert _validate(tmp_path, name).exit_code == 0
    result = _validate(tmp_path, "--json", "--accepted-versions", "v1", name)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["by_reason"] == {"unknown_field": 1}


def test_max_bytes_and_max_depth_options_are_applied(tmp_path: Path) -> None:
    name = _file(tmp_path, "in.jsonl", GOOD + b"\n" + _bad(items=[{"sku": "a", "qty": 1}]) + b"\n")
    result = _validate(tmp_path, "--json", "--max-bytes", "50", name)
    assert json.loads(result.stdout)["by_reason"] == {"too_large": 2}
    result = _validate(tmp_path / "d", "--json", "--max-depth", "2", name)
    assert json.loads(result.stdout)["by_reason"] == {"too_deep": 1}


def test_show_values_puts_values_in_the_quarantine_file(tmp_path: Path) -> None:
    name = _file(tmp_path, "in.jsonl", _bad(currency="SECRET") + b"\n")
    _validate(tmp_path, "--show-values", name)
    errors = json.loads(_quarantined(tmp_path)[0]["headers"]["guard.errors"])
    assert errors[0]["value"] == "'SECRET'"


def test_values_are_hidden_without_show_values(tmp_path: Path) -> None:
    name = _file(tmp_path, "in.jsonl", _bad(currency="SECRET") + b"\n")
    result = _validate(tmp_path, name)
    assert "SECRET" not in result.output
    assert "SECRET" not in json.dumps(_quarantined(tmp_path)[0]["headers"])


def test_unknown_subject_exits_two(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["validate", "-s", "payments", "--schemas-dir", str(REPO_SCHEMAS), "-"],
        input=GOOD,
    )
    assert result.exit_code == 2
    assert "no contracts for subject 'payments'" in result.stderr


def test_missing_input_file_exits_two(tmp_path: Path) -> None:
    result = _validate(tmp_path, str(tmp_path / "missing.jsonl"))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert "missing.jsonl: no such file" in result.stderr


def test_broken_contracts_dir_exits_two(tmp_path: Path) -> None:
    contract = tmp_path / "schemas" / "orders" / "v1.yaml"
    contract.parent.mkdir(parents=True)
    contract.write_text("subject: orders\nversion: 1\nfields: {a: {type: strin}}\n")
    result = CliRunner().invoke(
        cli, ["validate", "-s", "orders", "--schemas-dir", str(tmp_path / "schemas"), "-"]
    )
    assert result.exit_code == 2
    assert f"error: {contract}: field 'a': type:" in result.stderr


def test_missing_contracts_dir_exits_two(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["validate", "-s", "orders", "--schemas-dir", str(tmp_path / "nope"), "-"]
    )
    assert result.exit_code == 2
    assert "schemas directory does not exist" in result.stderr


def test_accepted_version_without_contract_exits_two(tmp_path: Path) -> None:
    result = _validate(tmp_path, "--accepted-versions", "9", "-", stdin=GOOD)
    assert result.exit_code == 2
    assert "accepted versions [9] have no contract" in result.stderr


def test_malformed_accepted_versions_is_a_usage_error(tmp_path: Path) -> None:
    result = _validate(tmp_path, "--accepted-versions", "newest", "-", stdin=GOOD)
    assert result.exit_code == 2


def test_missing_files_argument_is_a_usage_error(tmp_path: Path) -> None:
    assert _validate(tmp_path).exit_code == 2


@pytest.mark.parametrize(
    ("data", "expected"),
    [(GOOD, 0), (b"not json", 1)],
    ids=["valid", "invalid"],
)
def test_python_m_guard_exit_codes(tmp_path: Path, data: bytes, expected: int) -> None:
    name = _file(tmp_path, "in.jsonl", data + b"\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUARD_")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "guard",
            "validate",
            "-s",
            "orders",
            "--schemas-dir",
            str(REPO_SCHEMAS),
            "--quarantine-dir",
            str(tmp_path / "q"),
            "--json",
            name,
        ],
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == expected, proc.stderr
    assert json.loads(proc.stdout)["quarantined"] == expected


def test_console_script_exits_two_for_an_unknown_subject(tmp_path: Path) -> None:
    guard = Path(sys.executable).with_name("guard")
    command = [str(guard)] if guard.exists() else [sys.executable, "-m", "guard"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUARD_")}
    proc = subprocess.run(
        [*command, "validate", "-s", "nope", "--schemas-dir", str(REPO_SCHEMAS), "-"],
        input=GOOD,
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.decode().startswith("error: ")
    assert b"Traceback" not in proc.stderr


def test_empty_input_exits_two_so_an_empty_export_cannot_pass(tmp_path: Path) -> None:
    result = _validate(tmp_path, _file(tmp_path, "empty.jsonl", b""))
    assert result.exit_code == 2
    assert "no records in the input" in result.output and "--allow-empty" in result.output


def test_allow_empty_lets_empty_input_pass(tmp_path: Path) -> None:
    result = _validate(tmp_path, "--allow-empty", _file(tmp_path, "empty.jsonl", b"\n"))
    assert result.exit_code == 0, result.output


def test_two_runs_in_the_same_second_write_separate_quarantine_files(tmp_path: Path) -> None:
    name = _file(tmp_path, "bad.jsonl", b"nope\n")
    assert _validate(tmp_path, name).exit_code == 1
    assert _validate(tmp_path, name).exit_code == 1
    files = sorted((tmp_path / "q").glob("orders-*.jsonl"))
    assert len(files) == 2
    assert [len(f.read_text().splitlines()) for f in files] == [1, 1]


def test_text_summary_shows_blank_lines(tmp_path: Path) -> None:
    data = tmp_path / "in.jsonl"
    data.write_text("\n  \n")
    result = CliRunner().invoke(
        cli,
        [
            "validate",
            "-s",
            "orders",
            "--schemas-dir",
            str(REPO_SCHEMAS),
            "--allow-empty",
            str(data),
        ],
    )
    assert result.exit_code == 0, result.output  # blank lines only: no records, allowed here
    assert "0 records, 0 valid, 0 quarantined, 2 blank lines (no record)" in result.output


def test_quarantine_dir_that_cannot_be_created_exits_two_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    name = _file(tmp_path, "in.jsonl", b"nope\n")
    result = _validate(tmp_path, "--quarantine-dir", str(blocker / "q"), name)
    assert result.exit_code == 2, result.output
    assert f"error: {blocker / 'q'}: cannot write the quarantine file: Not a directory" in (
        result.output
    )


@pytest.mark.parametrize(
    "option", [["--max-bytes", "0"], ["--max-bytes", "-5"], ["--max-depth", "0"]]
)
def test_limits_outside_the_configs_bounds_are_usage_errors_not_quarantines(
    tmp_path: Path, option: list[str]
) -> None:
    result = _validate(tmp_path, *option, _file(tmp_path, "in.jsonl", GOOD + b"\n"))
    assert result.exit_code == 2, result.output
    assert "Invalid value for" in result.output
    assert not (tmp_path / "q").exists()


def test_candidate_refuses_a_pipe_it_could_not_read_twice(tmp_path: Path) -> None:
    fifo = tmp_path / "in.jsonl"
    os.mkfifo(fifo)  # nothing writes: the check must come before any read
    result = _validate(tmp_path, "--candidate", str(fifo))
    assert result.exit_code == 2, result.output
    assert "give regular files, not stdin or a pipe" in result.output
