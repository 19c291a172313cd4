"""A `guard run` child process for integration tests (service and monitoring tests share it)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest


class GuardProcess:
    """A `guard run` child; stderr goes to a file so a full pipe never blocks it."""

    def __init__(self, config: Path, env: dict[str, str], name: str, *args: str) -> None:
        self.log = config.parent / f"{name}.stderr"
        self._err = self.log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "guard", "run", "--config", str(config), *args],
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
            env=env,
        )

    def wait_for_commits(self, batches: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.log.read_text().count('"batch committed"') < batches:
            if self.proc.poll() is not None:
                pytest.fail(f"guard exited early: {self.log.read_text()[-1500:]}")
            if time.monotonic() > deadline:
                pytest.fail("guard did not commit in time")
            time.sleep(0.05)

    def finish(self, timeout: float = 240) -> dict[str, Any]:
        out, _ = self.proc.communicate(timeout=timeout)
        self._err.close()
        assert self.proc.returncode == 0, self.log.read_text()[-2000:]
        summary: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return summary

    def kill(self) -> None:
        """SIGKILL: a crash, with whatever transaction was open left open."""
        self.proc.kill()
        self.proc.wait(timeout=30)
        self._err.close()
