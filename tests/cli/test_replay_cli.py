"""`guard replay` / `guard quarantine` command-line contract."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from guard.cli.main import cli
from guard.quarantine.sources import REPLAYED_DIR
from tests.fixtures.paths import SCHEMAS


def _quarantine(tmp_path: Path) -> Path:
    data = tmp_path / "in.jsonl"
    data.write_text('{"x": 1}\n')
    qdir = tmp_path / "q"
    result = CliRunner().invoke(
        cli,
        [
            "validate",
            "-s",
            "orders",
            "--schemas-dir",
            str(SCHEMAS),
            "--quarantine-dir",
            str(qdir),
            str(data),
        ],
    )
    assert result.exit_code == 1
    return qdir


def test_a_real_replay_without_a_terminal_or_yes_refuses_with_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["replay", "--dir", str(_quarantine(tmp_path)), "--schemas-dir", str(SCHEMAS)]
    )
    assert result.exit_code == 2 and "--yes" in result.output


def test_replay_needs_exactly_one_source(tmp_path: Path) -> None:
    assert CliRunner().invoke(cli, ["replay", "--dry-run"]).exit_code == 2
    both = CliRunner().invoke(
        cli, ["replay", "--dry-run", "--dir", str(tmp_path), "--config", str(tmp_path / "g.yaml")]
    )
    assert both.exit_code == 2


def test_to_source_is_refused_for_a_directory(tmp_path: Path) -> None:
    qdir = _quarantine(tmp_path)
    result = CliRunner().invoke(
        cli, ["replay", "--dir", str(qdir), "--schemas-dir", str(SCHEMAS), "--yes", "--to-source"]
    )
    assert result.exit_code == 2 and "--to-source" in result.output


def test_dry_run_json_reports_counts(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "replay",
            "--dir",
            str(_quarantine(tmp_path)),
            "--schemas-dir",
            str(SCHEMAS),
            "--dry-run",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.stdout)
    assert report["dry_run"] and (report["passed"], report["still_failing"]) == (0, 1)


def test_quarantine_stats_json_for_a_directory(tmp_path: Path) -> None:
    qdir = _quarantine(tmp_path)
    result = CliRunner().invoke(cli, ["quarantine", "stats", "--dir", str(qdir), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)[str(qdir)]["by_reason"] == {"missing_field": 1}


def test_missing_quarantine_directory_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["quarantine", "show", "--dir", str(tmp_path / "none")])
    assert result.exit_code == 2


def test_filter_options_reach_the_command(tmp_path: Path) -> None:
    data = tmp_path / "in.jsonl"
    data.write_text('{"x": 1}\nnot json\n')
    qdir = tmp_path / "q"
    CliRunner().invoke(
        cli,
        [
            "validate",
            "-s",
            "orders",
            "--schemas-dir",
            str(SCHEMAS),
            "--quarantine-dir",
            str(qdir),
            str(data),
        ],
    )
    result = CliRunner().invoke(
        cli, ["quarantine", "stats", "--dir", str(qdir), "--reason", "not_json", "--json"]
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)[str(qdir)]["by_reason"] == {"not_json": 1}


def test_a_replay_shows_progress_on_stderr_and_keeps_stdout_for_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUARD_PROGRESS_SECONDS", "0")
    qdir = _quarantine(tmp_path)
    result = CliRunner().invoke(
        cli, ["replay", "--dir", str(qdir), "--schemas-dir", str(SCHEMAS), "--yes", "--json"]
    )
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    replaying = [p for p in lines if p["event"] == "progress" and p["task"].startswith("replaying")]
    assert replaying[-1]["finished"] and replaying[-1]["done"] == replaying[-1]["total"] == 1
    [report] = json.loads(result.stdout)
    assert report["dry_run"] is False


def _with_errors(qdir: Path, errors: str) -> None:
    [path] = list(qdir.glob("*.jsonl"))
    line = json.loads(path.read_text())
    line["headers"]["guard.errors"] = errors
    path.write_text(json.dumps(line) + "\n")


def test_quarantine_stats_survive_a_lone_surrogate_field_name(tmp_path: Path) -> None:
    """Issue 8 item 9: one odd record must not disable the command (exit 4 before)."""
    qdir = _quarantine(tmp_path)
    _with_errors(qdir, json.dumps([{"field": "\ud800", "code": "unknown_field", "message": "m"}]))
    result = CliRunner().invoke(cli, ["quarantine", "stats", "--dir", str(qdir)])
    assert result.exit_code == 0, result.output
    assert "\\ud800" in result.output


def test_quarantine_stats_count_a_record_with_odd_errors_as_unreadable(tmp_path: Path) -> None:
    qdir = _quarantine(tmp_path)
    _with_errors(qdir, '{"not": "a list"}')
    result = CliRunner().invoke(cli, ["quarantine", "stats", "--dir", str(qdir), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[str(qdir)]["unreadable"] == 1


def test_quarantine_show_survives_a_lone_surrogate_field_name(tmp_path: Path) -> None:
    qdir = _quarantine(tmp_path)
    _with_errors(qdir, json.dumps([{"field": "\ud800", "code": "unknown_field", "message": "m"}]))
    result = CliRunner().invoke(cli, ["quarantine", "show", "--dir", str(qdir)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["envelope"]["errors"][0]["field"] == "\ud800"


@pytest.mark.parametrize(
    "option", [["--max", "0"], ["--max", "-1"], ["--batch", "0"], ["--max-attempts", "-1"]]
)
def test_a_count_option_out_of_its_range_is_a_usage_error(
    tmp_path: Path, option: list[str]
) -> None:
    """Before: `--max -1` replayed nothing and reported a replay of 0 records, exit 0 (the
    records left as they were); `--batch 0` and `--max-attempts -1` were taken as given."""
    qdir = _quarantine(tmp_path)
    result = CliRunner().invoke(
        cli, ["replay", "--dir", str(qdir), "--schemas-dir", str(SCHEMAS), "--yes", *option]
    )
    assert result.exit_code == 2 and option[0] in result.output
    assert not (qdir / "replayed").exists(), "nothing written"


def test_a_replay_that_reads_only_unreadable_records_warns_it_is_not_a_quarantine(
    tmp_path: Path,
) -> None:
    """Before: a replay of records none of which is a guard quarantine copy (--topic naming a
    source topic) reported `skipped: unreadable 3`, exit 0, and nothing more. The replay exit
    table has no code for "nothing done", so the exit stays 0, with a warning line."""
    qdir = tmp_path / "q"
    qdir.mkdir()
    (qdir / "orders.jsonl").write_text('{"x": 1}\n{"x": 2}\n{"x": 3}\n')
    result = CliRunner().invoke(
        cli, ["replay", "--dir", str(qdir), "--schemas-dir", str(SCHEMAS), "--yes", "--json"]
    )
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.stdout)
    assert report["skipped"] == {"unreadable": 3}
    assert result.stderr.splitlines()[-1] == (
        f"warning: {qdir}: none of the 3 records read is a guard quarantine copy (all "
        "unreadable): is it a quarantine? Nothing was replayed."
    )


def test_a_replay_with_some_unreadable_records_does_not_warn(tmp_path: Path) -> None:
    qdir = _quarantine(tmp_path)
    with next(qdir.glob("*.jsonl")).open("a") as fh:
        fh.write('{"x": 2}\n')
    result = CliRunner().invoke(
        cli, ["replay", "--dir", str(qdir), "--schemas-dir", str(SCHEMAS), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "skipped: unreadable" in result.stdout and "warning" not in result.stderr


class _Terminal(io.RawIOBase):
    """A terminal on stdin whose user types `typed`, or presses Ctrl-C (None) at the prompt:
    the KeyboardInterrupt a SIGINT raises in the read."""

    def __init__(self, typed: bytes | None) -> None:
        self.typed = typed

    def isatty(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not len(buffer):
            return 0
        if self.typed is None:
            raise KeyboardInterrupt
        chunk, self.typed = self.typed[: len(buffer)], self.typed[len(buffer) :]
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _at_the_prompt(tmp_path: Path, typed: bytes | None) -> Result:
    qdir = _quarantine(tmp_path)
    command = ["replay", "--dir", str(qdir), "--schemas-dir", str(SCHEMAS), "--json"]
    result = CliRunner().invoke(cli, command, input=_Terminal(typed))
    assert not (qdir / REPLAYED_DIR).exists(), "nothing written"
    return result


def test_ctrl_c_at_the_confirmation_prompt_is_a_no(tmp_path: Path) -> None:
    """Before: Ctrl-C at the prompt printed `Aborted!` and exited 1, a code the replay exit
    table does not have, though the code meant Ctrl-C to be a "no"."""
    (tmp_path / "no").mkdir()
    no = _at_the_prompt(tmp_path / "no", b"n\n")
    ctrl_c = _at_the_prompt(tmp_path, None)
    assert "Aborted!" not in ctrl_c.output
    assert (ctrl_c.exit_code, no.exit_code) == (0, 0), ctrl_c.output
    [answered_no], [interrupted] = json.loads(no.stdout), json.loads(ctrl_c.stdout)
    for report in (answered_no, interrupted):
        del report["replay_id"], report["source"], report["target"]
    assert interrupted == answered_no and interrupted["dry_run"]
