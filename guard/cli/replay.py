"""`guard replay`: send quarantined records that now pass back into the pipeline, once each."""

from __future__ import annotations

import json
import signal
import sys
import threading
import uuid
from contextlib import AbstractContextManager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal

import click

from guard.cli.options import filter_options, quarantine_source_options

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from guard.config.settings import GuardSettings
    from guard.contracts.registry import Registry
    from guard.quarantine.filters import RecordFilter
    from guard.replay.plan import Classifier, Outcome


@click.command()
@quarantine_source_options
@filter_options
@click.option(
    "--schemas-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("schemas"),
    show_default=True,
    help="Contracts, for --dir (with --config, the config's schemas_dir).",
)
@click.option(
    "--version", "version", type=int, help="Re-validate against this contract version only."
)
@click.option("--to-source", is_flag=True, help="Send passing records back to their source topic.")
@click.option(
    "--max",
    "max_records",
    type=click.IntRange(min=1),
    help="Write at most this many records.",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Loop guard: skip records already replayed this many times.",
)
@click.option("--force", is_flag=True, help="Replay records past the loop guard too.")
@click.option("--dry-run", is_flag=True, help="Report what would pass and fail; write nothing.")
@click.option("--yes", "-y", "assume_yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--batch",
    "batch_size",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Records per transaction.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the final report as JSON.")
def replay(
    config_path: Path | None,
    directory: Path | None,
    topics: tuple[str, ...],
    record_filter: RecordFilter,
    schemas_dir: Path,
    version: int | None,
    to_source: bool,
    max_records: int | None,
    max_attempts: int,
    force: bool,
    dry_run: bool,
    assume_yes: bool,
    batch_size: int,
    as_json: bool,
) -> None:
    """Re-validate quarantined records against the current contracts.

    Records that now pass go to the clean topic (or, with --to-source, back to their source
    topic); the rest stay quarantined: a new copy with the new errors and attempt + 1 is
    written to the quarantine and the old copy is marked superseded. Idempotent and
    resumable: each record is handled exactly once, whatever is interrupted or rerun.
    """
    from guard.cli.sources import open_sources
    from guard.contracts import load_registry
    from guard.quarantine.envelope import now_iso
    from guard.quarantine.sources import REPLAYED_DIR
    from guard.replay import (
        DirectorySink,
        ReplayJob,
        ReplayOptions,
        TopicSink,
        replay_all,
    )
    from guard.replay.plan import Decision
    from guard.replay.report import ReplayReport
    from guard.replay.sinks import ReplaySink

    if not dry_run and not assume_yes and not sys.stdin.isatty():
        raise click.UsageError(
            "a real replay asks for confirmation: run it in a terminal, or pass --yes"
        )
    settings, sources = open_sources(config_path, directory, topics)
    registry = load_registry(settings.schemas_dir if settings else schemas_dir)
    replay_id, at = uuid.uuid4().hex[:12], now_iso()
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()  # finish the record (and write the batch) in flight, then stop

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def confirm(plan: ReplayReport) -> bool:
        click.echo(plan.render(), err=True)
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C = no
        try:
            return click.confirm(
                f"write {plan.passed} passing records and requeue {plan.still_failing}?",
                err=True,
            )
        except click.Abort:
            # Ctrl-C (or end of input) at the prompt: a "no", nothing written and exit 0 as
            # for one (click's `Aborted!` and exit 1 are not in the replay exit table); and,
            # as Ctrl-C does at any other time, no further quarantine is asked about.
            stop.set()
            return False
        finally:
            signal.signal(signal.SIGINT, previous)

    def progress(total: int, label: str) -> AbstractContextManager[Any]:
        from guard.progress import Progress

        return Progress(label, total)

    fit = None
    if settings is not None:
        from guard.replay.fit import TargetFit, destination, read_targets

        targets = {destination(settings, topic, to_source) for topic in settings.topics}
        fit = TargetFit(settings, read_targets(settings, targets), replay_id, at, to_source)
    jobs = []
    for source in sources:
        classifier = build_classifier(
            settings,
            registry,
            source.handled(),
            record_filter,
            version=version,
            max_attempts=max_attempts,
            force=force,
            to_source=to_source,
            fit=fit,
        )
        if settings is not None:

            def make_sink(name: str = source.name) -> ReplaySink:
                assert settings is not None
                return TopicSink(settings, name, replay_id, at, to_source)

            target = "source topics" if to_source else "clean topics"
        else:
            assert directory is not None

            def make_sink(name: str = source.name) -> ReplaySink:
                assert directory is not None
                return DirectorySink(directory, replay_id, at, to_source)

            target = str(directory / REPLAYED_DIR)
        jobs.append(ReplayJob(source, classifier, make_sink, target))
    options = ReplayOptions(replay_id, dry_run, assume_yes, max_records, batch_size)
    reports = replay_all(jobs, options, confirm, progress, stop)
    if as_json:
        click.echo(json.dumps([r.to_json() for r in reports], indent=2))
    else:
        click.echo("\n".join(r.render() for r in reports))
    for report in reports:
        # Not one guard quarantine copy (a --topic naming a source topic): say so, or the
        # report reads as a replay with nothing to do. The exit code stays 0: the replay
        # exit table has no code for "nothing done".
        unreadable = report.decisions[Decision.UNREADABLE.value]
        if unreadable and unreadable == sum(report.decisions.values()):
            click.echo(
                f"warning: {report.source}: none of the {unreadable} records read is a guard "
                "quarantine copy (all unreadable): is it a quarantine? Nothing was replayed.",
                err=True,
            )


def build_classifier(
    settings: GuardSettings | None,
    registry: Registry,
    handled: Mapping[str, str],
    record_filter: RecordFilter,
    *,
    version: int | None = None,
    max_attempts: int = 3,
    force: bool = False,
    to_source: bool = False,
    fit: Callable[[Outcome], Outcome] | None = None,
) -> Classifier:
    """The classifier a replay of one source uses (`guard quarantine report` shows its
    plan): the config's routes, framing, limits and version header, or file-mode defaults."""
    from guard.replay import Classifier
    from guard.validation import Limits

    destination: Literal["clean", "source", "files"] = (
        "files" if settings is None else ("source" if to_source else "clean")
    )
    wires = {}
    if settings is not None:
        from guard.validation.routes import wire_format

        for topic, route in settings.topics.items():
            if route.payload_format != "json" and route.subject in registry.subjects:
                wire = wire_format(settings, registry.subject(route.subject), topic, route)
                if wire is not None:
                    wires[topic] = wire
    return Classifier(
        registry,
        settings.topics if settings else {},
        version_header=settings.version_header if settings else "schema-version",
        limits=Limits(settings.limits.max_bytes, settings.limits.max_depth) if settings else None,
        expose_values=settings.expose_values if settings else False,
        version=version,
        max_attempts=max_attempts,
        force=force,
        record_filter=record_filter,
        handled=handled,
        destination=destination,
        wires=wires,
        fit=fit,
        forward_tombstones=settings is not None and settings.tombstones == "forward",
    )
