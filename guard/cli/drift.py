"""`guard drift`: data-shape drift, in CI (report) and in the stream (status)."""

from __future__ import annotations

import click

from guard.cli.drift_history import history
from guard.cli.drift_report import report
from guard.cli.drift_status import status


@click.group()
def drift() -> None:
    """Compare data against a baseline: reports for CI, live state from the stream."""


drift.add_command(report)
drift.add_command(status)
drift.add_command(history)
