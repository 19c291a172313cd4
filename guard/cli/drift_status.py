"""`guard drift status`: current data shape and drift per subject and field, merged across
every instance's newest closed window profile."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from guard.cli.options import config_option


@click.command()
@config_option
@click.option("--subject", "-s", help="Only this subject.")
@click.option(
    "--max-age",
    type=click.FloatRange(min=0, min_open=True),
    help="Only windows at most this many seconds old. Default: 3 window lengths "
    "(monitoring.windows.seconds; with count-only windows, the length of each instance's "
    "newest closed window), and at least 3 x max(60 s, snapshot_seconds).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the state as JSON.")
def status(config_path: Path, subject: str | None, max_age: float | None, as_json: bool) -> None:
    """Read the profiles topic (read_committed), merge the newest closed window of every
    instance per subject, check it against the subject's baseline and show the state per
    field ("insufficient data" below thresholds.min_records). Open windows are shown apart,
    as in progress, and are not checked.

    Exits 0 when no subject drifted, 1 when one did, 2 on usage or config errors.
    """
    from guard.monitoring import require_libraries

    require_libraries()  # before anything imports numpy or the sketch library
    from guard.contracts import load_registry
    from guard.monitoring.status import collect, render_text
    from guard.transport.factory import load_checked_settings

    settings = load_checked_settings(config_path)
    registry = load_registry(settings.schemas_dir)
    if subject is not None:
        registry.subject(subject)  # an unknown subject is a usage error, not an empty result
    statuses, unreadable = collect(settings, registry, subject, max_age)
    if as_json:
        payload = {
            "profiles_topic": settings.monitoring.profiles_topic,
            "unreadable": unreadable,
            "subjects": {s.plan.subject: s.to_json() for s in statuses},
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(render_text(statuses))
        if unreadable:
            topic = settings.monitoring.profiles_topic
            click.echo(f"({unreadable} unreadable record(s) on {topic})")
    sys.exit(1 if any(s.state == "drift" for s in statuses) else 0)
