"""`guard quarantine report`: what is quarantined, over time, and what a replay would do."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from guard.cli.options import filter_options, quarantine_source_options

if TYPE_CHECKING:
    from collections import Counter
    from collections.abc import Iterable, Iterator
    from datetime import datetime

    from guard.config.settings import GuardSettings
    from guard.progress import Progress
    from guard.quarantine.filters import RecordFilter
    from guard.quarantine.report import QuarantineAggregate
    from guard.transport.base import InHeaders, InRecord


@click.command("report")
@quarantine_source_options
@filter_options
@click.option(
    "--out",
    "-o",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Directory for report.html, report.md and report.json.",
)
@click.option(
    "--schemas-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("schemas"),
    show_default=True,
    help="Contracts for the replay plan, with --dir (with --config, the config's schemas_dir).",
)
@click.option(
    "--producer-header",
    help="An original header that names the producer (e.g. client-id): producers are ranked.",
)
@click.option(
    "--key-prefix",
    "key_prefix",
    help="Or: the record key up to this separator names the producer (e.g. ':').",
)
@click.option(
    "--producer-totals",
    is_flag=True,
    help="With --config: also read the source topics to count what each producer sent, so "
    "producers are ranked by quarantined / sent (reads every source record).",
)
@click.option(
    "--max-attempts",
    type=int,
    default=3,
    show_default=True,
    help="The replay plan's loop guard (as guard replay --max-attempts).",
)
@click.option("--include-handled", is_flag=True, help="Also count copies replays already handled.")
@click.option(
    "--show-values",
    is_flag=True,
    help="Put record values in the examples (also on when the config sets expose_values).",
)
def report(
    config_path: Path | None,
    directory: Path | None,
    topics: tuple[str, ...],
    record_filter: RecordFilter,
    out_dir: Path,
    schemas_dir: Path,
    producer_header: str | None,
    key_prefix: str | None,
    producer_totals: bool,
    max_attempts: int,
    include_handled: bool,
    show_values: bool,
) -> None:
    """Write report.html, report.md and report.json about a quarantine to OUT.

    Reads the quarantine topics of --config's routes (read_committed, up to their end now) or
    a file-mode quarantine --dir, once, in bounded memory; --since/--until pick a time range.
    Shows counts over time per reason, field, contract version and source partition, the
    top failing fields with their checks and example errors, producers ranked by quarantine
    rate (with --producer-header or --key-prefix), and the plan `guard replay --dry-run` would
    make. No record values unless expose_values is set (or --show-values).
    """
    from dataclasses import asdict

    from guard.cli.replay import build_classifier
    from guard.cli.sources import open_sources
    from guard.contracts import load_registry
    from guard.errors import ContractError, InputError
    from guard.progress import Progress
    from guard.quarantine.report import QuarantineAggregate
    from guard.quarantine.report_render import QuarantineReport, SourceReport, now_iso, write
    from guard.quarantine.sources import REPLAYED_DIR
    from guard.replay.report import ReplayReport

    if producer_header and key_prefix:
        raise click.UsageError("give one of --producer-header or --key-prefix")
    if producer_totals and not (config_path and (producer_header or key_prefix)):
        raise click.UsageError(
            "--producer-totals needs --config and --producer-header or --key-prefix"
        )
    settings, sources = open_sources(config_path, directory, topics)
    expose = show_values or (settings.expose_values if settings else False)
    try:
        registry = load_registry(settings.schemas_dir if settings else schemas_dir)
    except ContractError:
        if settings is not None:
            raise
        registry = None  # file mode without contracts: the report, without a replay plan
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out_dir}: cannot create: {exc.strerror}") from exc

    reports = []
    for source in sources:
        handled = source.handled()
        agg = QuarantineAggregate(source.name, expose, producer_header, key_prefix)
        plan = None
        classifier = None
        if registry is not None:
            classifier = build_classifier(
                settings, registry, handled, record_filter, max_attempts=max_attempts
            )
            target = (
                "clean topics" if settings is not None else str(Path(source.name) / REPLAYED_DIR)
            )
            plan = ReplayReport("dry-run", source.name, target, dry_run=True)

        def is_handled(key: str, handled: dict[str, str] = handled) -> bool:
            return key in handled and not include_handled

        with Progress(f"reading {source.name}", source.size()) as progress:
            for item in source.records():
                progress.update(1)
                agg.add(item, is_handled, record_filter.matches)
                if classifier is not None and plan is not None:
                    plan.add(classifier.classify(item))
        if producer_totals and settings is not None:
            agg.sent = _sent_by_producer(settings, source.name, record_filter, agg)
        reports.append(SourceReport(agg, plan.to_json() if plan is not None else None))
    filters = {k: _text(v) for k, v in asdict(record_filter).items()}
    result = QuarantineReport(reports, now_iso(), filters, expose)
    written = write(result, out_dir)
    click.echo(f"{result.records} quarantined records in {len(reports)} source(s)")
    for path in (written.html, written.markdown, written.json):
        click.echo(str(path))


def _text(value: object) -> object:
    """A filter value as JSON: sets as sorted lists, times as ISO text."""
    if isinstance(value, frozenset):
        return sorted(value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return value


def _sent_by_producer(
    settings: GuardSettings,
    quarantine_topic: str,
    record_filter: RecordFilter,
    agg: QuarantineAggregate,
) -> Counter[str]:
    """Records per producer in the source topics that quarantine to `quarantine_topic`,
    read_committed up to their end now, within --since/--until by record timestamp."""
    from collections import Counter

    from guard.progress import Progress
    from guard.quarantine.report import count_producers
    from guard.transport.factory import open_reader

    def ms(at: datetime | None) -> int | None:
        return int(at.timestamp() * 1000) if at is not None else None

    sent: Counter[str] = Counter()
    for topic, route in settings.topics.items():
        if route.quarantine_for(topic) != quarantine_topic:
            continue
        reader = open_reader(settings.kafka)
        try:
            snapshot = reader.snapshot(topic)
            if snapshot is None:
                continue
            with Progress(f"counting {topic}", snapshot.size) as progress:
                sent.update(
                    count_producers(
                        _counted(reader.read([snapshot]), progress),
                        agg.producer_header,
                        agg.key_prefix_separator,
                        ms(record_filter.since),
                        ms(record_filter.until),
                    )
                )
        finally:
            reader.close()
    return sent


def _counted(
    records: Iterable[InRecord], progress: Progress
) -> Iterator[tuple[InHeaders, bytes | None, int]]:
    for rec in records:
        progress.update(1)
        yield rec.headers, rec.key, rec.timestamp_ms
