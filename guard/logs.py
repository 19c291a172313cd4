"""Structured logging for the service and the CLI: JSON lines (or console) on stderr.

Log events carry coordinates, counts and reason codes, never record keys or values.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog


def _stderr_logger(*_args: object) -> structlog.PrintLogger:
    # Looked up per logger, not bound once: whoever replaced sys.stderr since (a test
    # harness, a daemon wrapper) gets the output, and a closed stream is never written to.
    return structlog.PrintLogger(sys.stderr)


def configure_logging(level: str = "INFO", fmt: Literal["json", "console"] = "json") -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=_stderr_logger,
        # Not cached: `guard run` reconfigures after the CLI did; we log per batch, not per record.
        cache_logger_on_first_use=False,
    )
    # kafka-python logs through the standard library; keep only its warnings and errors.
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s"
    )
