"""Run a replay: classify every quarantined record, then write the ones that act in batches.

Safe by default: a dry run classifies and writes nothing; a real replay first classifies
(the same pass as a dry run), asks for confirmation, then makes a second pass that writes —
so memory stays bounded whatever the quarantine size. `assume_yes` skips the first pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from typing import Protocol

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from guard.errors import TransientTransportError
from guard.quarantine.sources import QuarantineSource
from guard.replay.plan import Classifier, Outcome
from guard.replay.report import ReplayReport
from guard.replay.sinks import ReplaySink


class Progress(Protocol):
    def update(self, n: int) -> None: ...


ProgressFactory = Callable[[int, str], AbstractContextManager[Progress]]


class _NoProgress:
    def update(self, n: int) -> None:
        pass


def no_progress(total: int, label: str) -> AbstractContextManager[Progress]:
    return nullcontext(_NoProgress())


_WRITE_ATTEMPTS = 5  # per batch, for transient broker failures


@dataclass
class ReplayOptions:
    replay_id: str
    dry_run: bool = False
    assume_yes: bool = False
    max_records: int | None = None  # at most this many records written (passed + requeued)
    batch_size: int = 200


def _acting(
    source: QuarantineSource,
    classifier: Classifier,
    report: ReplayReport,
    max_records: int | None,
    progress: Progress,
    stop: threading.Event,
) -> Iterator[Outcome]:
    """Outcomes that write, counting every outcome into the report; stops at max_records, or
    at once when a stop is requested."""
    acted = 0
    for item in source.records():
        if stop.is_set():
            report.interrupted = True
            return
        progress.update(1)
        if max_records is not None and acted >= max_records:
            return
        outcome = classifier.classify(item)
        report.add(outcome)
        if outcome.decision.writes:
            acted += 1
            yield outcome


def replay_source(
    source: QuarantineSource,
    classifier: Classifier,
    make_sink: Callable[[], ReplaySink],
    options: ReplayOptions,
    target: str,
    confirm: Callable[[ReplayReport], bool] = lambda _: True,
    progress: ProgressFactory = no_progress,
    stop: threading.Event | None = None,
) -> ReplayReport:
    stop = stop or threading.Event()
    plan = ReplayReport(options.replay_id, source.name, target, dry_run=True)
    if options.dry_run or not options.assume_yes:
        with progress(source.size(), f"checking {source.name}") as bar:
            for _ in _acting(source, classifier, plan, options.max_records, bar, stop):
                pass
        if plan.interrupted or options.dry_run:
            return plan
        if not plan.passed + plan.still_failing or not confirm(plan):
            return plan
    report = ReplayReport(options.replay_id, source.name, target, dry_run=False)
    # The sink first: creating it fences any other replay of this quarantine (its open
    # transaction is aborted). Only then is the state read, so it includes everything that
    # replay committed -- a state read before the prompt could be stale by now.
    sink = make_sink()
    classifier.handled = source.handled()

    def write(batch: list[Outcome]) -> None:
        sink.write(batch)

    def recover(_state: object) -> None:
        sink.abort()
        # A commit that timed out may have landed: drop what the state now says is done.
        handled = source.handled()
        pending[:] = [
            o for o in pending if o.record is None or o.record.location.key not in handled
        ]

    pending: list[Outcome] = []
    retrying = Retrying(
        retry=retry_if_exception_type(TransientTransportError),
        wait=wait_random_exponential(multiplier=0.2, max=30),
        stop=stop_after_attempt(_WRITE_ATTEMPTS),
        before_sleep=recover,
        reraise=True,
    )
    try:
        with progress(source.size(), f"replaying {source.name}") as bar:
            for outcome in _acting(source, classifier, report, options.max_records, bar, stop):
                pending.append(outcome)
                if len(pending) >= options.batch_size:
                    retrying(write, pending)
                    pending.clear()
            if pending:
                retrying(write, pending)
                pending.clear()
    finally:
        sink.close()
    return report


@dataclass
class ReplayJob:
    """One quarantine to replay: where it is read from, how it is judged, where it goes."""

    source: QuarantineSource
    classifier: Classifier
    make_sink: Callable[[], ReplaySink]
    target: str


def replay_all(
    jobs: list[ReplayJob],
    options: ReplayOptions,
    confirm: Callable[[ReplayReport], bool] = lambda _: True,
    progress: ProgressFactory = no_progress,
    stop: threading.Event | None = None,
) -> list[ReplayReport]:
    """Replay each quarantine in turn; `max_records` is one budget for the whole run."""
    stop = stop or threading.Event()
    remaining = options.max_records
    reports: list[ReplayReport] = []
    for job in jobs:
        report = replay_source(
            job.source,
            job.classifier,
            job.make_sink,
            replace(options, max_records=remaining),
            job.target,
            confirm,
            progress,
            stop,
        )
        reports.append(report)
        if remaining is not None:
            remaining -= report.passed + report.still_failing
        if stop.is_set() or (remaining is not None and remaining <= 0):
            break
    return reports
