"""Progress of long work on stderr: a bar on a terminal, periodic JSON lines otherwise.

One helper for every long command (`guard validate`, `guard replay`, `guard quarantine
report`, `guard drift report`), so they look and behave alike. Nothing is shown for work that
ends within `DELAY_S`. Off a terminal (CI logs, a container) a line such as

    {"event": "progress", "task": "validating orders", "done": 250000, "total": 1000000, ...}

is written every `GUARD_PROGRESS_SECONDS` (10) seconds and once at the end, so a job log
shows the work moving. Setting `GUARD_PROGRESS_SECONDS=0` writes a line on every update
(tests). Only stderr is written: stdout stays for reports and `--json`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

DELAY_S = 2.0  # work shorter than this shows nothing
INTERVAL_S = 10.0  # between JSON lines off a terminal
BAR_REFRESH_S = 0.2  # the bar is redrawn at most this often
BAR_WIDTH = 24
ENV = "GUARD_PROGRESS_SECONDS"


class Progress:
    """Count work done (`update(n)`), shown on `stream` (default: sys.stderr now).

    Use it as a context manager; the end is reported on exit. `total` is None when unknown.
    """

    def __init__(
        self,
        label: str,
        total: int | None = None,
        unit: str = "records",
        *,
        stream: TextIO | None = None,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.unit = label, total or None, unit
        self.stream = stream if stream is not None else sys.stderr
        self.tty = _isatty(self.stream) if tty is None else tty
        env = os.environ.get(ENV, "").strip()
        interval = _seconds(env, INTERVAL_S)
        self.interval = interval
        self.delay = min(DELAY_S, interval)  # GUARD_PROGRESS_SECONDS=0: from the start
        self._clock = clock
        self.done = 0
        self._start = clock()
        self._last = self._start  # last line or redraw
        self._lines = 0
        self._bar = False  # drawn at least once

    def __enter__(self) -> Progress:
        return self

    def update(self, n: int = 1) -> None:
        self.done += n
        now = self._clock()
        if now - self._start < self.delay:
            return
        if self.tty:
            if not self._bar or now - self._last >= BAR_REFRESH_S:
                self._draw()
                self._last = now
        elif self._lines == 0 or now - self._last >= self.interval:
            self._line(now, finished=False)
            self._last = now

    def __exit__(self, *exc: object) -> None:
        now = self._clock()
        if self.tty:
            if self._bar:
                self._draw(end="\n")
        elif self._lines or now - self._start >= self.delay:
            self._line(now, finished=exc[0] is None)

    def _draw(self, end: str = "") -> None:
        """One terminal line, redrawn in place: label, bar, share, count, rate."""
        elapsed = self._clock() - self._start
        unit = self.unit if self.unit == "B" else " " + self.unit
        rate = f"{_si(self.done / elapsed)}{unit}/s" if elapsed > 0 else ""
        if self.total:
            share = min(self.done / self.total, 1.0)
            bar = "#" * int(share * BAR_WIDTH)
            text = (
                f"{self.label} [{bar:<{BAR_WIDTH}}] {share:>4.0%} "
                f"{_si(self.done)}/{_si(self.total)}{unit} {rate}"
            )
        else:
            text = f"{self.label} {_si(self.done)}{unit} {rate}"
        try:
            self.stream.write("\r" + text + "\x1b[K" + end)
            self.stream.flush()
        except (OSError, ValueError):
            pass
        self._bar = True

    def _line(self, now: float, finished: bool) -> None:
        elapsed = now - self._start
        body: dict[str, Any] = {
            "event": "progress",
            "task": self.label,
            "done": self.done,
            "total": self.total,
            "unit": self.unit,
            "percent": round(100 * self.done / self.total, 1) if self.total else None,
            "elapsed_s": round(elapsed, 1),
            "rate_per_s": round(self.done / elapsed, 1) if elapsed > 0 else None,
        }
        if finished:
            body["finished"] = True
        try:
            self.stream.write(json.dumps(body) + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr must not fail the work
            pass
        self._lines += 1


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _seconds(text: str, default: float) -> float:
    try:
        value = float(text) if text else default
    except ValueError:
        return default
    return value if value >= 0 else default


def _si(n: float) -> str:
    """1234567 -> '1.2M': short counts for the bar."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= size:
            return f"{n / size:.1f}{suffix}"
    return f"{n:.0f}"
