"""Structured logging for the service and the CLI: JSON lines (or console) on stderr.

Log events carry coordinates, counts and reason codes, never record keys or values. The Kafka
clients log through the standard library; their lines go through the same renderer, so every
line on stderr is one JSON object, and a client that repeats itself (a broker that is down
makes kafka-python log each failed connection, librdkafka ~14 lines a second) is heard once
per `REPEAT_WINDOW_S`, the kept line saying how many repeats were dropped (`repeated`).
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable, Hashable
from typing import Literal

import structlog

REPEAT_WINDOW_S = 30.0


def _stderr_logger(*_args: object) -> structlog.PrintLogger:
    # Looked up per logger, not bound once: whoever replaced sys.stderr since (a test
    # harness, a daemon wrapper) gets the output, and a closed stream is never written to.
    return structlog.PrintLogger(sys.stderr)


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler that writes to whatever sys.stderr is now (see `_stderr_logger`)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # not setStream: that flushes the old one, maybe closed
        super().emit(record)


class RepeatFold:
    """Decides which of a stream of repeated lines to keep: a key seen less than `window_s`
    ago is dropped; the next one kept says how many were dropped in between."""

    def __init__(
        self, window_s: float = REPEAT_WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window_s = window_s
        self._clock = clock
        self._last: dict[Hashable, float] = {}
        self._dropped: dict[Hashable, int] = {}

    def admit(self, key: Hashable) -> int | None:
        """None: drop this line; otherwise keep it, and the number dropped since the last."""
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.window_s:
            self._dropped[key] = self._dropped.get(key, 0) + 1
            return None
        self._last[key] = now
        return self._dropped.pop(key, 0)


# Counts, ids, durations and addresses vary between librdkafka's repeats of one error.
_VARYING = re.compile(r"\d+")


def fold_key(*parts: str) -> str:
    """The key two lines share when they say the same thing (numbers left out)."""
    return _VARYING.sub("#", " ".join(parts))


class RepeatFilter(logging.Filter):
    """Drops a line whose logger and message template were logged less than `window_s` ago;
    the next one that passes says how many were dropped."""

    def __init__(self, window_s: float = REPEAT_WINDOW_S) -> None:
        super().__init__()
        self._fold = RepeatFold(window_s)

    @property
    def window_s(self) -> float:
        return self._fold.window_s

    @window_s.setter
    def window_s(self, value: float) -> None:
        self._fold.window_s = value

    def filter(self, record: logging.LogRecord) -> bool:
        dropped = self._fold.admit((record.name, str(record.msg)))
        if dropped is None:
            return False
        if dropped:
            record.repeated = dropped
        return True


def configure_logging(level: str = "INFO", fmt: Literal["json", "console"] = "json") -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.typing.Processor] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=_stderr_logger,
        # Not cached: `guard run` reconfigures after the CLI did; we log per batch, not per record.
        cache_logger_on_first_use=False,
    )
    # The clients' standard-library lines: the same renderer, warnings and up, repeats folded.
    handler = _CurrentStderr()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                *shared,
                structlog.stdlib.add_logger_name,
                structlog.stdlib.ExtraAdder(),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _CurrentStderr)]:
        root.removeHandler(old)  # configured again (the CLI, then `run`): one handler only
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
