"""The guard service loop: poll a batch, route it, produce and commit it in one transaction
(guard/service/transaction.py), which the loop only drives.

Transient broker failures abort the transaction, rewind to the committed offsets and retry
with capped exponential backoff plus jitter (tenacity); fatal ones stop the service. Invalid
records never raise: they are routed to quarantine like any other record.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import structlog
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from guard.config.settings import GuardSettings
from guard.contracts.registry import Registry
from guard.errors import (
    RecordTooLargeError,
    RegistryUnavailableError,
    RejoinRequiredError,
    TransientTransportError,
)
from guard.quarantine.trust import EnvelopeTrust
from guard.routing.router import RoutedBatch, RoutePlan, Router, RoutingStats, merge_routed
from guard.service.probe import NULL_PROBE, LoopProbe
from guard.service.rejoin import RejoinPolicy
from guard.service.targets import Describe, TargetWatch, target_topics
from guard.service.topics import output_topics, source_partitions
from guard.service.transaction import BatchObserver, Transaction
from guard.service.watchdog import Stall, StepTracker, StopFlag, Watchdog, exit_process
from guard.transport.base import InRecord, Pipe
from guard.validation.routes import route_validator
from guard.validation.validator import RecordValidator

log = structlog.get_logger(__name__)

# Records routed before they are handed to the producer: small enough that sending overlaps
# validating, large enough that the per-slice overhead stays negligible.
_SEND_SLICE = 100


@dataclass
class RunSummary:
    stats: RoutingStats = field(default_factory=RoutingStats)
    batches: int = 0
    retries: int = 0
    stopped_by: str = "limit"
    seconds: float = 0.0


def build_validators(settings: GuardSettings, registry: Registry) -> dict[str, RecordValidator]:
    """One validator per source topic; raises on unknown subjects or unusable versions."""
    return {
        source: route_validator(settings, registry, source, route)
        for source, route in settings.topics.items()
    }


def build_router(
    settings: GuardSettings, validators: dict[str, RecordValidator], pipe: Pipe | None = None
) -> Router:
    """Route plans for every source; target partition counts are learnt when a pipe is given.
    Size limits start at the producer's (`TargetWatch.refresh` adds the topics' own)."""
    plans: dict[str, RoutePlan] = {}
    for source, route in settings.topics.items():
        validator = validators[source]
        valid, quarantine = route.valid_for(source), route.quarantine_for(source)
        plans[source] = RoutePlan(
            source,
            validator,
            valid,
            quarantine,
            pipe.partition_count(valid) if pipe else None,
            pipe.partition_count(quarantine) if pipe else None,
            settings.kafka.max_request_size,
            settings.kafka.max_request_size,
        )
    return Router(
        plans,
        settings.version_header,
        settings.tombstones,
        EnvelopeTrust(settings.quarantine.key_bytes()),
        settings.quarantine.header_style,
        settings.kafka.instance_id,
    )


class _StopRequested(stop_base):
    """Stops retrying once a stop was requested (SIGTERM during a broker outage)."""

    def __init__(self, flag: StopFlag) -> None:
        self.flag = flag

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.flag.is_set()


class _OutageBudget(stop_base):
    """Stops retrying once a failure streak has lasted `budget_s` since its first failure."""

    def __init__(self, budget_s: float) -> None:
        self.budget_s = budget_s
        self.first_failure = 0.0

    def __call__(self, retry_state: RetryCallState) -> bool:
        now = time.monotonic()
        if retry_state.attempt_number == 1:  # each batch starts a fresh streak
            self.first_failure = now
        return now - self.first_failure >= self.budget_s

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.first_failure


class GuardService:
    """Checks every route when built; connects to the broker only when it runs.

    Stop conditions (README "Stopping" and "Failures"): a stop request (`request_stop`, or
    SIGTERM/SIGINT after `install_signal_handlers`) commits the batch in flight and returns;
    `retry.max_attempts` failures in a row, or a failure streak older than
    `retry.outage_budget_s`, raise; with `start_watchdog`, a step held past
    `service.stall_timeout_s`, or a stop not done within `service.stop_grace_s`, ends the
    process with exit 3.

    Never a quiet wait: fenced clients (or a fatal client error), and a loop that makes no
    progress for `metrics.stall_seconds` while records wait (every partition lost, a stuck
    rebalance), are replaced by new clients that join the group again (a rejoin); more than
    `retry.max_rejoins` rejoins within `retry.rejoin_window_s` raise.
    """

    def __init__(
        self,
        settings: GuardSettings,
        registry: Registry,
        pipe_factory: Callable[[], Pipe],
        observers: Sequence[BatchObserver] = (),
        describe_targets: Describe | None = None,
        probe: LoopProbe = NULL_PROBE,
    ) -> None:
        self.probe = probe  # metrics, health, lag, progress lines (guard/service/probe.py)
        self.settings = settings
        self.observers = list(observers)
        self.validators = build_validators(settings, registry)
        self._pipe_factory = pipe_factory
        self._pipe: Pipe | None = None
        self._stop = StopFlag()
        self.tracker = StepTracker()
        self._watchdog: Watchdog | None = None
        self._targets = TargetWatch(settings, describe_targets)
        self._txn = Transaction(self.tracker, self.observers, probe)
        self._router: Router | None = None  # None: (re)connect and subscribe before polling
        self._rejoins = RejoinPolicy(settings)

    def request_stop(self, reason: str = "requested") -> None:
        """Finish the batch in flight, commit it, and return from `run`."""
        self._stop.set(reason)

    def install_signal_handlers(self) -> None:
        stop = self._stop

        def handler(signum: int, _frame: FrameType | None) -> None:
            # Only set a flag: the handler runs between two bytecodes of the main thread,
            # maybe inside kafka-python or a lock; logging or locking here could deadlock.
            # (Arming the last resort takes no Python lock: a syscall and faulthandler's C.)
            stop.set(signal.Signals(signum).name)
            if self._watchdog is not None:
                self._watchdog.notice_stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def start_watchdog(self, on_stall: Callable[[Stall], None] = exit_process) -> Watchdog:
        """Watch the loop from a daemon thread (the `guard run` process does this)."""
        service = self.settings.service
        self._watchdog = Watchdog(
            self.tracker,
            self._stop,
            service.stall_timeout_s,
            service.stop_grace_s,
            on_stall,
            # The lock-free timers end the whole process: only with the exiting default.
            last_resort=on_stall is exit_process,
        )
        self._watchdog.start()
        return self._watchdog

    @property
    def pipe(self) -> Pipe:
        if self._pipe is None:
            with self.tracker.doing("connect"):
                self._pipe = self._pipe_factory()
                self._txn.pipe = self._pipe
        return self._pipe

    def prepare(self) -> Router | None:
        """None when a stop was requested while waiting for a missing source topic."""
        with self.tracker.doing("metadata"):
            partitions = source_partitions(self.settings, self.pipe, self._stop)
        if partitions is None:
            return None
        if self.settings.kafka.create_topics:
            wanted, configs = output_topics(self.settings, partitions)
            self._targets.wanted, self._targets.configs = wanted, configs
            with self.tracker.doing("ensure topics"):
                self.pipe.ensure_topics(wanted, configs)  # quarantine retention set here
        router = build_router(self.settings, self.validators)
        self.pipe.writes_to(target_topics(router))
        with self.tracker.doing("describe targets"):
            self._targets.refresh(router, self.pipe)
        with self.tracker.doing("subscribe"):
            self.pipe.subscribe(list(self.settings.topics))
        return router

    def run(self, max_records: int | None = None, idle_timeout: float | None = None) -> RunSummary:
        started = time.monotonic()
        summary = RunSummary()
        retry = self.settings.retry
        budget = _OutageBudget(retry.outage_budget_s)
        retrying = Retrying(
            retry=retry_if_exception_type((TransientTransportError, RejoinRequiredError)),
            wait=wait_random_exponential(
                multiplier=retry.initial_backoff_ms / 1000, max=retry.max_backoff_ms / 1000
            ),
            stop=stop_after_attempt(retry.max_attempts) | budget | _StopRequested(self._stop),
            before_sleep=self._recover,
            sleep=self._stop.sleep,
            reraise=True,
        )
        try:
            last_data = time.monotonic()
            while not self._stop.is_set():
                limit = self.settings.batch.max_records
                if max_records is not None:
                    limit = min(limit, max_records - summary.stats.total)
                    if limit <= 0:
                        summary.stopped_by = "max-records"
                        break
                attempts, n = 0, 0
                try:
                    for attempt in retrying:
                        with attempt:
                            attempts += 1
                            if attempts > 1 and self._stop.is_set():
                                # A backoff cut short by a stop: no new attempt.
                                raise TransientTransportError("stop requested while retrying")
                            if self._router is None:  # connecting is retried like any failure
                                self._router = self.prepare()
                            if self._router is not None:  # None: stopped waiting for a source
                                n = self._one_batch(self._router, limit, summary)
                except (TransientTransportError, RejoinRequiredError) as exc:
                    if isinstance(exc, RejoinRequiredError) and not self._stop.is_set():
                        raise
                    if not self._stop.is_set():
                        raise TransientTransportError(
                            f"broker failing for {budget.elapsed_s:.0f} s over {attempts} "
                            f"attempts (retry.max_attempts={retry.max_attempts}, "
                            f"retry.outage_budget_s={retry.outage_budget_s:g}): {exc}"
                        ) from exc
                    # Stopping while the broker is failing: nothing of this batch was
                    # committed; it will be processed by the next run. No abort: it would
                    # wait on the failing broker, and the open transaction is aborted by the
                    # next instance with this transactional id (or the broker's timeout).
                    self._txn.drop()
                    summary.stopped_by = self._stop.reason or "stop"
                    log.info("stop requested while the broker fails; batch left uncommitted")
                    break
                finally:
                    summary.retries += max(attempts - 1, 0)
                if attempts > 1:  # a stall counts from now, not from before the outage
                    self._rejoins.streak_ended()
                    last_data = time.monotonic()  # and so does idleness: records may wait
                # probe: lag, health, progress line; whether its read found the broker
                # answering tells observers when an outage began or ended (empty polls go on).
                self._txn.broker_read(self.probe.tick(self.pipe))
                if self._rejoin_if_stalled():
                    last_data = time.monotonic()
                    continue  # the next attempt connects anew, inside the retry loop
                if n or not self.pipe.has_assignment():
                    # Idle time counts only while partitions are assigned: waiting to join the
                    # group (e.g. for a crashed member's session to expire) is not idleness.
                    last_data = time.monotonic()
                elif idle_timeout is not None and time.monotonic() - last_data >= idle_timeout:
                    summary.stopped_by = "idle-timeout"
                    break
            else:
                summary.stopped_by = self._stop.reason or "stop"
                log.info("stop requested; batch in flight committed", reason=summary.stopped_by)
        finally:
            # Closing counts as stopping: with a watchdog, a close that hangs (a dead broker)
            # ends the process after service.stop_grace_s instead of holding it.
            self._stop.set("closing")
            if self._watchdog is not None:  # on this thread, before a close that may freeze
                self._watchdog.notice_stop()
            try:
                if self._pipe is not None:  # the factory itself may have failed
                    with self.tracker.doing("close"):
                        self._pipe.close()
            finally:
                self.tracker.finished = True
                if self._watchdog is not None:
                    self._watchdog.close()
            summary.seconds = time.monotonic() - started
        return summary

    def _one_batch(self, router: Router, limit: int, summary: RunSummary) -> int:
        started = time.perf_counter()  # probe: batch latency
        with self.tracker.doing("poll"):
            batch = self.pipe.poll(limit, self.settings.batch.poll_timeout_ms)
        if not batch:
            self._txn.idle()
            self.probe.idle()  # probe: an idle poll
            return 0
        self.tracker.polled(batch)
        if self._targets.stale:  # after a failure: a target may be gone or resized
            with self.tracker.doing("describe targets"):
                self._targets.refresh(router, self.pipe)
        sent: list[RoutedBatch] = []  # the parts routed and handed to the producer so far
        try:
            routed = self._route_and_send(router, batch, sent)
            committing = time.perf_counter()  # probe: commit latency
            self._txn.commit(routed)
        except RecordTooLargeError as exc:
            # Our size estimate let through a record the broker refused (a limit lowered
            # since we read it, or a framing we under-counted): retry the batch with lower
            # limits, so the largest record per target is routed by the fit rules instead.
            if not self._targets.lower_after_refusal(merge_routed(sent), exc.topic):
                raise
            raise TransientTransportError(f"{exc} (limits lowered; batch retried)") from exc
        done = time.perf_counter()
        self.probe.committed(routed, done - started, done - committing)
        self.tracker.committed_batch(routed.offsets)
        summary.stats.add(routed.stats)
        summary.batches += 1
        log.debug(
            "batch committed",
            records=len(batch),
            valid=routed.stats.valid,
            quarantined=routed.stats.quarantined,
            reasons=dict(routed.stats.by_reason),
        )
        return len(batch)

    def _route_and_send(
        self, router: Router, batch: list[InRecord], sent: list[RoutedBatch]
    ) -> RoutedBatch:
        """Open the batch's transaction and route it a slice at a time, handing each slice's
        records to the producer at once: the client sends them while the next slice is
        validated, instead of all of them after the whole batch (at ~1 MB per batch of 2 KB
        records that wait was a third of the batch's time). Returns the whole routed batch."""
        self._txn.begin()
        for start in range(0, len(batch), _SEND_SLICE):
            with self.tracker.doing("route"):
                part = router.route(batch[start : start + _SEND_SLICE])
            for change in part.oversize:
                log.warning("record too large for its target", **change.describe())
            sent.append(part)
            self._txn.send(part.records)
        return merge_routed(sent)

    def _rejoin_if_stalled(self) -> bool:
        """No progress for metrics.stall_seconds while records wait (every partition lost, a
        rebalance that never ends, a poll that returns nothing): new clients, not a quiet
        wait (guard/service/rejoin.py says when). True when it rejoined."""
        if not self._rejoins.stall_due(self.probe.stalled()):
            return False
        stall_s = self.settings.metrics.stall_seconds
        self._rejoin("stalled", f"no progress for {stall_s:g} s (metrics.stall_seconds)")
        return True

    def _rejoin(self, cause: str, error: str) -> None:
        """Close the clients and forget them: the next attempt connects anew, subscribes and
        joins the group again. Raises FatalTransportError past retry.max_rejoins."""
        self._rejoins.record(error)
        log.warning("rejoining the group with new clients", cause=cause, error=error)
        self.probe.rejoined(cause)
        self._txn.drop()
        self._targets.stale = True
        pipe, self._pipe, self._router = self._pipe, None, None
        self._txn.pipe = None
        if pipe is not None:
            try:
                with self.tracker.doing("close"):
                    pipe.close()
            except Exception as exc:  # a dead client may fail to close; it is dropped anyway
                log.warning("closing the old clients failed", error=str(exc))

    def _recover(self, state: RetryCallState) -> None:
        exc: Any = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RejoinRequiredError):
            self.probe.retried()  # probe: a retry
            self._rejoin("fenced", str(exc))
            return
        # A registry outage is not the broker's: the line says which to look at.
        event = (
            "transient schema registry failure; aborting batch and retrying"
            if isinstance(exc, RegistryUnavailableError)
            else "transient broker failure; aborting batch and retrying"
        )
        log.warning(
            event,
            attempt=state.attempt_number,
            error=str(exc),
            next_wait_s=round(state.upcoming_sleep, 3),
        )
        self.probe.retried()  # probe: a retry
        self._txn.abort()
        self._targets.stale = True  # a target may be gone or resized: re-read before routing
