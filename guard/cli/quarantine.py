"""`guard quarantine`: look at what is quarantined."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from guard.cli.options import filter_options, quarantine_source_options

if TYPE_CHECKING:
    from guard.quarantine.filters import RecordFilter


@click.group()
def quarantine() -> None:
    """Inspect quarantined records (Kafka topics or a quarantine directory)."""


@quarantine.command()
@quarantine_source_options
@filter_options
@click.option(
    "--bucket", type=click.Choice(["minute", "hour", "day"]), default="hour", show_default=True
)
@click.option("--include-handled", is_flag=True, help="Also count copies replays already handled.")
@click.option("--json", "as_json", is_flag=True)
def stats(
    config_path: Path | None,
    directory: Path | None,
    topics: tuple[str, ...],
    record_filter: RecordFilter,
    bucket: str,
    include_handled: bool,
    as_json: bool,
) -> None:
    """Counts by subject, reason code, field and time bucket."""
    from guard.cli.sources import open_sources
    from guard.quarantine.inspect import Bucket, collect_stats

    _, sources = open_sources(config_path, directory, topics)
    report = {}
    for source in sources:
        result = collect_stats(
            source.records(), source.handled(), cast(Bucket, bucket), include_handled, record_filter
        )
        report[source.name] = result
    if as_json:
        click.echo(json.dumps({name: r.to_json() for name, r in report.items()}, indent=2))
        return
    for name, result in report.items():
        click.echo(f"== {name}")
        click.echo(result.render())


@quarantine.command()
@quarantine_source_options
@filter_options
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--show-values", is_flag=True, help="Print keys and values (hidden by default).")
@click.option("--include-handled", is_flag=True, help="Also show copies replays already handled.")
def show(
    config_path: Path | None,
    directory: Path | None,
    topics: tuple[str, ...],
    record_filter: RecordFilter,
    limit: int,
    show_values: bool,
    include_handled: bool,
) -> None:
    """Sample quarantined records with their envelope, one JSON object per line."""
    from guard.cli.sources import open_sources
    from guard.quarantine.inspect import describe
    from guard.quarantine.records import UnreadableRecord

    _, sources = open_sources(config_path, directory, topics)
    for source in sources:
        handled = source.handled()
        matching = (
            item
            for item in source.records()
            if not isinstance(item, UnreadableRecord)
            and (include_handled or item.location.key not in handled)
            and record_filter.matches(item)
        )
        for rec in itertools.islice(matching, limit):
            click.echo(
                json.dumps(
                    {
                        "source": source.name,
                        **describe(rec, show_values, handled.get(rec.location.key)),
                    }
                )
            )


def _register() -> None:
    from guard.cli.quarantine_report import report

    quarantine.add_command(report)


_register()
