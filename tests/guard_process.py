"""A `guard run` child process for integration tests (service and monitoring tests share it)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

COMMITTED = '"batch committed"'  # the service's DEBUG log line after each transaction


class GuardProcess:
    """A `guard run` child; stderr goes to a file so a full pipe never blocks it.

    A watcher thread keeps the child's peak resident memory (`peak_rss_kb`, from VmHWM) while
    it lives. Every child is listed in `GuardProcess.started_children`, so a fixture can kill
    the ones a failed test left running."""

    started_children: ClassVar[list[GuardProcess]] = []

    def __init__(self, config: Path, env: dict[str, str], name: str, *args: str) -> None:
        self.log = config.parent / f"{name}.stderr"
        self._err = self.log.open("w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "guard", "run", "--config", str(config), *args],
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
            env=env,
        )
        self.peak_rss_kb = 0
        threading.Thread(target=self._watch_rss, daemon=True).start()
        GuardProcess.started_children.append(self)

    def _watch_rss(self) -> None:
        status = Path(f"/proc/{self.proc.pid}/status")
        while self.proc.poll() is None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_rss_kb = max(self.peak_rss_kb, int(line.split()[1]))
            except (OSError, ValueError):
                pass
            time.sleep(0.2)

    def commits(self) -> int:
        """Transactions committed so far (needs log level DEBUG)."""
        return self.log.read_text(errors="replace").count(COMMITTED)

    def wait_for_commit_after(self, seen: int, timeout: float = 120, poll_s: float = 0.02) -> float:
        """Wait until more than `seen` transactions are committed; seconds waited. A small
        `poll_s` times a commit closely (a batch cycle may take only ~30 ms)."""
        started = time.monotonic()
        while self.commits() <= seen:
            if self.proc.poll() is not None:
                pytest.fail(f"guard exited early: {self.log.read_text()[-1500:]}")
            if time.monotonic() - started > timeout:
                pytest.fail(f"guard committed nothing new in {timeout:.0f}s")
            time.sleep(poll_s)
        return time.monotonic() - started

    def terminate(self, timeout: float = 60) -> dict[str, Any]:
        """SIGTERM, then the run summary (the service commits what it has and exits 0)."""
        self.proc.send_signal(signal.SIGTERM)
        return self.finish(timeout)

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
