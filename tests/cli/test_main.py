"""The `guard` dispatcher: errors become one line and a meaningful exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
