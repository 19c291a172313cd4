"""The guard service loop: poll a batch, route it, produce and commit it in one transaction.

Transient broker failures abort the transaction, rewind to the committed offsets and retry
with capped exponential backoff plus jitter (tenacity); fatal ones stop the service. Invalid
records never raise: they are routed to quarantine like any other record.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Protocol

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
from guard.errors import TransientTransportError
from guard.quarantine.trust import EnvelopeTrust
from guard.routing.router import RoutedBatch, RoutePlan, Router, RoutingStats
from guard.transport.base import OutRecord, Pipe
from guard.validation.decode import Limits
from guard.validation.validator import RecordValidator

log = structlog.get_logger(__name__)


@dataclass
class RunSummary:
    stats: RoutingStats = field(default_factory=RoutingStats)
    batches: int = 0
    retries: int = 0
    stopped_by: str = "limit"
    seconds: float = 0.0


def build_validators(settings: GuardSettings, registry: Registry) -> dict[str, RecordValidator]:
    """One validator per source topic; raises on unknown subjects or unusable versions."""
    limits = Limits(settings.limits.max_bytes, settings.limits.max_depth)
    return {
        source: RecordValidator(
            registry.subject(route.subject), route.accepted_versions, limits, settings.expose_values
        )
        for source, route in settings.topics.items()
    }


def build_router(
    settings: GuardSettings, validators: dict[str, RecordValidator], pipe: Pipe | None = None
) -> Router:
    """Route plans for every source; target partition counts are learnt when a pipe is given."""
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
        )
    trust = EnvelopeTrust(settings.envelope.key_bytes())
    return Router(plans, settings.version_header, settings.tombstones, trust)


class _StopRequested(stop_base):
    """Stops retrying once a stop was requested (SIGTERM during a broker outage)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.event.is_set()


class BatchObserver(Protocol):
    """Sees every routed batch, and may add records to the batch's transaction.

    Exactly-once for observers: `before_commit` must not change lasting state, only stage it
    and return the records to produce with the batch; `after_commit` applies the staged state
    (the transaction is durable); `after_abort` drops it (the batch will be polled again).
    When a poll returns nothing, `before_commit` gets an empty batch (so time-based work,
    such as closing a window, happens in a quiet stream too).

    Caveat: a commit that timed out may still have landed; the runner then calls
    `after_abort`, and that batch's observations are lost (never counted twice).
    """

    def before_commit(self, routed: RoutedBatch) -> list[OutRecord]: ...

    def after_commit(self) -> None: ...

    def after_abort(self) -> None: ...


class GuardService:
    """Checks every route when built; connects to the broker only when it runs."""

    def __init__(
        self,
        settings: GuardSettings,
        registry: Registry,
        pipe_factory: Callable[[], Pipe],
        observers: Sequence[BatchObserver] = (),
    ) -> None:
        self.settings = settings
        self.observers = list(observers)
        self.validators = build_validators(settings, registry)
        self._pipe_factory = pipe_factory
        self._pipe: Pipe | None = None
        self._stop = threading.Event()
        self._stop_reason = ""

    def request_stop(self, reason: str = "requested") -> None:
        """Finish the batch in flight, commit it, and return from `run`."""
        self._stop_reason = reason
        self._stop.set()

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            # Only set a flag: a handler that logs can re-enter a stream the main thread is
            # writing to, raising inside whatever kafka-python code was running.
            self.request_stop(signal.Signals(signum).name)

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    @property
    def pipe(self) -> Pipe:
        if self._pipe is None:
            self._pipe = self._pipe_factory()
        return self._pipe

    def prepare(self) -> Router:
        if self.settings.kafka.create_topics:
            wanted: dict[str, int] = {}
            for source, route in self.settings.topics.items():
                n = self.pipe.partition_count(source) or 1
                wanted[route.valid_for(source)] = n
                wanted[route.quarantine_for(source)] = n
            self.pipe.ensure_topics(wanted)
        router = build_router(self.settings, self.validators, self.pipe)
        self.pipe.subscribe(list(self.settings.topics))
        return router

    def run(self, max_records: int | None = None, idle_timeout: float | None = None) -> RunSummary:
        started = time.monotonic()
        summary = RunSummary()
        retry = self.settings.retry
        retrying = Retrying(
            retry=retry_if_exception_type(TransientTransportError),
            wait=wait_random_exponential(
                multiplier=retry.initial_backoff_ms / 1000, max=retry.max_backoff_ms / 1000
            ),
            stop=stop_after_attempt(retry.max_attempts) | _StopRequested(self._stop),
            before_sleep=self._recover,
            sleep=self._interruptible_sleep,
            reraise=True,
        )
        try:
            router = self.prepare()
            last_data = time.monotonic()
            while not self._stop.is_set():
                limit = self.settings.batch.max_records
                if max_records is not None:
                    limit = min(limit, max_records - summary.stats.total)
                    if limit <= 0:
                        summary.stopped_by = "max-records"
                        break
                attempts = 0
                try:
                    for attempt in retrying:
                        with attempt:
                            attempts += 1
                            n = self._one_batch(router, limit, summary)
                except TransientTransportError:
                    if not self._stop.is_set():
                        raise
                    # Stopping while the broker is failing: nothing of this batch was
                    # committed; it will be processed by the next run.
                    self._abort_quietly()
                    summary.stopped_by = self._stop_reason or "stop"
                    break
                finally:
                    summary.retries += max(attempts - 1, 0)
                if n or not self.pipe.has_assignment():
                    # Idle time counts only while partitions are assigned: waiting to join the
                    # group (e.g. for a crashed member's session to expire) is not idleness.
                    last_data = time.monotonic()
                elif idle_timeout is not None and time.monotonic() - last_data >= idle_timeout:
                    summary.stopped_by = "idle-timeout"
                    break
            else:
                summary.stopped_by = self._stop_reason or "stop"
                log.info("stop requested; batch in flight committed", reason=summary.stopped_by)
        finally:
            if self._pipe is not None:  # the factory itself may have failed
                self._pipe.close()
            summary.seconds = time.monotonic() - started
        return summary

    def _interruptible_sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)  # a stop request cuts a backoff short

    def _one_batch(self, router: Router, limit: int, summary: RunSummary) -> int:
        batch = self.pipe.poll(limit, self.settings.batch.poll_timeout_ms)
        if not batch:
            self._idle_observers()
            return 0
        routed = router.route(batch)
        self._commit(routed)
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

    def _idle_observers(self) -> None:
        """Show observers an empty batch, so time windows close on time in a quiet stream;
        what they emit is committed in a transaction of its own, with no offsets."""
        if self.observers:
            self._commit(RoutedBatch([], {}, RoutingStats(), []))

    def _commit(self, routed: RoutedBatch) -> None:
        """The routed records, what observers add, and the offsets: one transaction."""
        records = routed.records + [r for obs in self.observers for r in obs.before_commit(routed)]
        if records or routed.offsets:
            self.pipe.begin()
            for record in records:
                self.pipe.send(record)
            self.pipe.commit(routed.offsets)
        for obs in self.observers:
            obs.after_commit()

    def _recover(self, state: RetryCallState) -> None:
        exc: Any = state.outcome.exception() if state.outcome else None
        log.warning(
            "transient broker failure; aborting batch and retrying",
            attempt=state.attempt_number,
            error=str(exc),
            next_wait_s=round(state.upcoming_sleep, 3),
        )
        self._abort_quietly()

    def _abort_quietly(self) -> None:
        for obs in self.observers:
            obs.after_abort()
        try:
            self.pipe.abort()
        except TransientTransportError as abort_exc:
            # The pipe rewinds on its next poll whatever happened here, so nothing is skipped.
            log.warning("abort failed", error=str(abort_exc))
