"""`guard shadow status`: what each `status: candidate` version would quarantine on live
traffic, merged across every instance."""

from __future__ import annotations

import json
from pathlib import Path

import click

from guard.cli.options import config_option


@click.group()
def shadow() -> None:
    """Shadow rollout of candidate contract versions."""


@shadow.command()
@config_option
@click.option("--subject", "-s", help="Only this subject.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def status(config_path: Path, subject: str | None, as_json: bool) -> None:
    """Read the shadow topic (read_committed), take every instance run's last snapshot and
    sum them per subject and candidate version: records judged, what the candidate would
    quarantine (per reason and rule), and example coordinates (topic, partition, offset, key).
    """
    from guard.shadow.files import render_counts
    from guard.shadow.status import read_shadow
    from guard.transport.factory import load_checked_settings

    settings = load_checked_settings(config_path)
    read = read_shadow(settings)
    counts = [c for c in read.counts if subject is None or c.subject == subject]
    if as_json:
        data = {
            "shadow_topic": settings.shadow_topic,
            "runs": read.runs,
            "unreadable": read.unreadable,
            "candidates": [c.to_json() for c in counts],
        }
        click.echo(json.dumps(data, indent=2))
        return
    skipped = f", {read.unreadable} unreadable records skipped" if read.unreadable else ""
    if not counts:
        click.echo(
            f"no shadow counts on {settings.shadow_topic} (no candidate version routed?){skipped}"
        )
        return
    click.echo(f"{settings.shadow_topic}: {read.runs} instance runs{skipped}")
    for line in render_counts(counts):
        click.echo(line)
