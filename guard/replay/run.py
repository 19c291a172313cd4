"""Run a replay: classify every quarantined record, then write the ones that act in batches.

Safe by default: a dry run classifies and writes nothing; a real replay first classifies
(the same pass as a dry run), asks for confirmation, then makes a second pass that writes —
so memory stays bounded whatever the quarantine size. `assume_yes` skips the first pass.

Idempotent for records that still fail too: a replay that finds an unfinished run (one that
was interrupted, or stopped by `max_records`) resumes it, reading up to that run's snapshot
end, so the copies it requeued are not replayed a second time. See guard.quarantine.sources.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from typing import Protocol

from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_when_event_set,
    wait_random_exponential,
)

from guard.errors import RegistryUnavailableError, TransientTransportError
from guard.quarantine.records import QuarantinedRecord, UnreadableRecord
from guard.quarantine.sources import QuarantineSource, ReplayRun
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


@dataclass
class _Walk:
    complete: bool = False  # every record of the snapshot was classified


def _acting(
    source: QuarantineSource,
    classifier: Classifier,
    report: ReplayReport,
    max_records: int | None,
    progress: Progress,
    stop: threading.Event,
    walk: _Walk | None = None,
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
        try:
            outcome = classifier.classify(item)
        except RegistryUnavailableError:
            outcome = _classify_again(classifier, item, stop)
        report.add(outcome)
        if outcome.decision.writes:
            acted += 1
            yield outcome
    if walk is not None:
        walk.complete = True


# A Schema Registry look-up that fails while a record is judged (framed routes): retried with
# capped exponential backoff before the replay gives up (exit 3, the run left to resume).
_CLASSIFY_ATTEMPTS = 8
_CLASSIFY_BACKOFF_S = 0.2
_CLASSIFY_MAX_BACKOFF_S = 10.0


def _classify_again(
    classifier: Classifier, item: QuarantinedRecord | UnreadableRecord, stop: threading.Event
) -> Outcome:
    retrying = Retrying(
        retry=retry_if_exception_type(RegistryUnavailableError),
        wait=wait_random_exponential(multiplier=_CLASSIFY_BACKOFF_S, max=_CLASSIFY_MAX_BACKOFF_S),
        stop=stop_after_attempt(_CLASSIFY_ATTEMPTS - 1) | stop_when_event_set(stop),
        sleep=lambda seconds: _wait(stop, seconds),
        reraise=True,
    )
    return retrying(classifier.classify, item)


def _wait(stop: threading.Event, seconds: float) -> None:
    """A backoff that a stop request cuts short."""
    stop.wait(seconds)


def _resume_unfinished(source: QuarantineSource, replay_id: str) -> ReplayRun:
    """The run this replay belongs to: an unfinished one (then read up to its end), or a new
    one over the current snapshot."""
    unfinished = source.unfinished_run()
    if unfinished is not None:
        source.resume(unfinished)
        return unfinished
    return ReplayRun(replay_id, source.end(), source_id=source.identity())


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
    # Resumed already here, so that the plan covers what the run will read.
    open_run = _resume_unfinished(source, options.replay_id).replay_id != options.replay_id
    plan = ReplayReport(options.replay_id, source.name, target, dry_run=True)
    if options.dry_run or not options.assume_yes:
        with progress(source.size(), f"checking {source.name}") as bar:
            for _ in _acting(source, classifier, plan, options.max_records, bar, stop):
                pass
        if plan.interrupted or options.dry_run:
            return plan
        if plan.passed + plan.still_failing:
            if not confirm(plan):
                return plan
        elif not open_run:
            return plan  # nothing to write and no open run to close: no need to ask
    report = ReplayReport(options.replay_id, source.name, target, dry_run=False)
    # The sink first: creating it fences any other replay of this quarantine (its open
    # transaction is aborted). Only then is the state read, so it includes everything that
    # replay committed -- a state read before the prompt could be stale by now.
    sink = make_sink()
    run = _resume_unfinished(source, options.replay_id)
    resumed = run.replay_id != options.replay_id
    classifier.handled = source.handled()
    walk = _Walk()
    wrote = False
    failed = False  # the last write failed: its batch may land yet

    def write(batch: list[Outcome], finished: bool = False) -> None:
        nonlocal wrote, failed
        if failed:
            # A commit that timed out may have landed, or land until the sink fences it: fence
            # first, then drop what the state now says is done (a retried step, if either fails).
            sink.fence()
            handled = source.handled()
            batch[:] = [
                o for o in batch if o.record is None or o.record.location.key not in handled
            ]
            failed = False
        sink.write(batch, replace(run, finished=finished))
        wrote = True

    def recover(_state: object) -> None:
        nonlocal failed
        failed = True
        sink.abort()

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
            acting = _acting(source, classifier, report, options.max_records, bar, stop, walk)
            for outcome in acting:
                pending.append(outcome)
                if len(pending) >= options.batch_size:
                    retrying(write, pending)
                    pending.clear()
            # The last transaction marks the run finished when it read its whole snapshot;
            # cut short (stop, max_records), the run stays open for the next replay to resume.
            if pending or (walk.complete and (wrote or resumed)):
                retrying(write, pending, walk.complete)
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
