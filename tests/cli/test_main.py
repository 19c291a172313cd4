"""The `guard` dispatcher: errors become one line and a meaningful exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from guard.cli.main import cli
from guard.errors import RegistryUnavailableError
from guard.replay import run as replay_run
from guard.replay.plan import Classifier, Outcome
from tests.fixtures.paths import REPO


def test_stdout_closed_by_its_reader_exits_two_without_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUARD_")}
    command = [sys.executable, "-m", "guard", "schemas", "export"]
    command += ["--schemas-dir", str(REPO / "schemas")]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as `| head` does once it has read enough: here, before any output
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 2, stderr
    assert "Traceback" not in stderr
    assert "internal error" not in stderr
    assert "BrokenPipeError" not in stderr


def test_a_schema_registry_failure_is_reported_as_one_with_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: `guard replay` whose registry look-ups kept failing printed `error: broker:
    schema registry ...` (exit 3 was right): the line sent on-call to the broker."""
    data = tmp_path / "in.jsonl"
    data.write_text('{"x": 1}\n')
    qdir = tmp_path / "q"
    schemas = ["--schemas-dir", str(REPO / "schemas")]
    validate = ["validate", "-s", "orders", *schemas, "--quarantine-dir", str(qdir), str(data)]
    assert CliRunner().invoke(cli, validate).exit_code == 1

    def registry_down(self: Classifier, item: object) -> Outcome:
        raise RegistryUnavailableError("schema registry http://r/schemas/ids/7: HTTP 503")

    monkeypatch.setattr(Classifier, "classify", registry_down)
    monkeypatch.setattr(replay_run, "_CLASSIFY_BACKOFF_S", 0.0)
    monkeypatch.setattr(replay_run, "_CLASSIFY_MAX_BACKOFF_S", 0.0)
    result = CliRunner().invoke(cli, ["replay", "--dir", str(qdir), *schemas, "--yes"])
    assert result.exit_code == 3, result.output
    assert result.stderr.splitlines()[-1] == (
        "error: schema registry http://r/schemas/ids/7: HTTP 503"
    )
