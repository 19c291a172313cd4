"""Open the quarantine sources a command names: Kafka topics from a config, or a directory."""

from __future__ import annotations

from pathlib import Path

import click

from guard.config.settings import GuardSettings
from guard.errors import InputError
from guard.quarantine.sources import DirectorySource, QuarantineSource, TopicSource


def open_sources(
    config_path: Path | None, directory: Path | None, topics: tuple[str, ...]
) -> tuple[GuardSettings | None, list[QuarantineSource]]:
    if (config_path is None) == (directory is None):
        raise click.UsageError("give exactly one of --config (Kafka) or --dir (quarantine files)")
    if directory is not None:
        if topics:
            raise click.UsageError("--topic applies to --config only")
        return None, [DirectorySource(directory)]
    from guard.transport.factory import load_checked_settings

    settings = load_checked_settings(config_path)
    configured = [route.quarantine_for(source) for source, route in settings.topics.items()]
    names = list(dict.fromkeys(topics or configured))
    opened = [TopicSource(settings.kafka, name) for name in names]
    missing = [s.name for s in opened if not s.exists]
    # A missing topic is never read as an empty quarantine (a replay of it would report
    # "0 replayed", exit 0, and create its replay-state topic): a topic named on the command
    # line must exist (typos), and so must one of the configured routes' quarantine topics.
    if missing and (topics or len(missing) == len(opened)):
        raise InputError(f"no such quarantine topic: {', '.join(missing)}")
    for name in missing:  # a route that has not run yet, beside others that have
        click.echo(f"warning: no such quarantine topic: {name} (skipped)", err=True)
    return settings, list[QuarantineSource]([s for s in opened if s.exists])
