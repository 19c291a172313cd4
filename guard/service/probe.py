"""What the service loop reports while it runs: the hooks the runner calls, in one place.

`LoopProbe` is the runner's side (a few calls, clearly marked there); `ServiceProbe` turns
them into metrics, health, consumer lag and a periodic INFO progress line. `NULL_PROBE`
does nothing, for runs that want none of it (tests, tools).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Protocol

import structlog

from guard.errors import TransportError
from guard.routing.router import RoutedBatch
from guard.service.health import Health
from guard.service.metrics import ServiceMetrics
from guard.transport.base import Pipe

log = structlog.get_logger("guard.service")


class LoopProbe(Protocol):
    def idle(self) -> None:
        """A poll returned nothing."""

    def committed(self, routed: RoutedBatch, batch_s: float, commit_s: float) -> None:
        """A batch was committed: `batch_s` from poll to commit, `commit_s` the transaction."""

    def retried(self) -> None:
        """A transient failure; the batch will be retried."""

    def aborted(self) -> None:
        """A transaction was aborted."""

    def rejoined(self, cause: str) -> None:
        """The clients were replaced: `fenced` (or a fatal client error), or `stalled`."""

    def tick(self, pipe: Pipe) -> bool | None:
        """Once per loop turn: time-based work (lag reads, progress lines). Returns whether
        the broker answered a read made this turn (False: it failed; None: none was made)."""
        ...

    def stalled(self) -> bool:
        """No progress for `metrics.stall_seconds` with lag waiting (what `/healthz` says)."""
        ...


class _NullProbe:
    def idle(self) -> None:
        pass

    def committed(self, routed: RoutedBatch, batch_s: float, commit_s: float) -> None:
        pass

    def retried(self) -> None:
        pass

    def aborted(self) -> None:
        pass

    def rejoined(self, cause: str) -> None:
        pass

    def tick(self, pipe: Pipe) -> bool | None:
        return None

    def stalled(self) -> bool:
        return False


NULL_PROBE: LoopProbe = _NullProbe()


class ServiceProbe:
    def __init__(
        self,
        metrics: ServiceMetrics,
        health: Health,
        subjects: Mapping[str, str],
        lag_seconds: float,
        progress_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.metrics = metrics
        self.health = health
        # Read at each scrape, as /healthz reads it: a loop stuck inside a call ticks no more.
        metrics.no_progress.set_function(health.seconds_since_progress)
        self.subjects = dict(subjects)
        metrics.expect_topics(self.subjects)
        self.lag_seconds = lag_seconds
        self.progress_seconds = progress_seconds
        self._clock = clock
        self._next_lag = clock()  # the first turn reads lag, so idle polls can count at once
        self._next_progress = clock() + progress_seconds
        self._lag_total: int | None = None
        self._group_committed: int | None = None  # the group's offsets at the last group read
        # The last lag read saw records waiting and a batch was committed since: that read
        # no longer holds, and idle polls must not wait `lag_seconds` for the next one.
        self._lag_stale = False
        self._assigned = False
        self._in = self._valid = self._quarantined = 0  # since the last progress line
        self._totals = [0, 0, 0]

    def idle(self) -> None:
        if self._lag_stale:  # records were committed since a read that saw some waiting
            self._lag_stale = False
            self._next_lag = min(self._next_lag, self._clock())  # read it on this turn
        self.health.idle_poll()

    def committed(self, routed: RoutedBatch, batch_s: float, commit_s: float) -> None:
        self.metrics.committed(routed, self.subjects, batch_s, commit_s)
        self.health.committed()
        if self._lag_total:
            self._lag_stale = True
        stats = routed.stats
        self._in += stats.total
        self._valid += stats.valid
        self._quarantined += stats.quarantined

    def retried(self) -> None:
        self.metrics.retries.inc()

    def aborted(self) -> None:
        self.metrics.aborts.inc()

    def rejoined(self, cause: str) -> None:
        self.metrics.rejoins.labels(self.metrics.client, cause).inc()

    def stalled(self) -> bool:
        return not self.health.is_live()

    def tick(self, pipe: Pipe) -> bool | None:
        now = self._clock()
        try:
            assigned = pipe.has_assignment()
        except TransportError:
            assigned = False  # a dead client owns nothing
        if assigned != self._assigned:  # joined, or lost every partition
            self.metrics.rebalances.inc()
            self._next_lag = now  # read lag at once for the new assignment
            self._group_committed = None  # a fresh baseline for the next unassigned spell
        self._assigned = assigned
        self.health.assignment(assigned)
        answered = None
        if now >= self._next_lag:
            self._next_lag = now + self.lag_seconds
            answered = self._read_lag(pipe) if assigned else self._read_group_lag(pipe)
        if self.progress_seconds and now >= self._next_progress:
            self._next_progress = now + self.progress_seconds
            self._progress_line(assigned)
        return answered

    def _read_group_lag(self, pipe: Pipe) -> bool | None:
        """Owning no partition: what the whole group has left (health's expected partitions).
        Whether the broker answered (None: a fault of ours, not the broker's)."""
        self.metrics.assigned.set(0)  # owning none, whether or not the group can be read
        try:
            offsets = pipe.group_offsets(list(self.subjects))
        except Exception as exc:  # metrics and health only: never stops the loop
            self._lag_total = None
            self.health.group_read(None, None)
            log.warning("could not read the group's lag", error=str(exc))
            return False if isinstance(exc, TransportError) else None
        self.metrics.lag_read({})
        committed = sum(at for at, _ in offsets.values())
        self._lag_total = sum(max(end - at, 0) for at, end in offsets.values())
        if self._lag_total and (
            self._group_committed is None or committed <= self._group_committed
        ):
            # Offsets left but the group's stand still: an upstream transactional producer
            # ends each partition with a commit marker, one past the last record, where the
            # group's offset stops for good. Only committed records there are work waiting.
            waiting = {tp: span for tp, span in offsets.items() if span[1] > span[0]}
            try:
                if not pipe.holds_records(waiting):
                    self._lag_total = 0
            except Exception as exc:  # metrics and health only: never stops the loop
                log.warning("could not read what the group has left", error=str(exc))
        self._group_committed = committed
        self.health.group_read(self._lag_total, committed)
        return True

    def _read_lag(self, pipe: Pipe) -> bool | None:
        """Whether the broker answered (None: a fault of ours, not the broker's)."""
        try:  # the client's own view: counted when the lag (a broker request) can't be read
            self.metrics.assigned.set(len(pipe.assigned()))
        except Exception as exc:
            log.warning("could not read the assignment", error=str(exc))
        try:
            lag = pipe.lag()
        except TransportError as exc:
            self._lag_total = None
            self.health.lag_read(None)
            log.warning("could not read consumer lag", error=str(exc))
            return False
        except Exception:
            # Lag is for metrics and health only: a bug in reading it must not stop records
            # flowing (it once ended the service with exit 4 on a partition with no position).
            self._lag_total = None
            self.health.lag_read(None)
            log.exception("reading consumer lag failed; the service goes on")
            return None
        self.metrics.lag_read(lag)
        self._lag_total = sum(lag.values())
        self.health.lag_read(self._lag_total)
        return True

    def _progress_line(self, assigned: bool) -> None:
        batch = (self._in, self._valid, self._quarantined)
        self._totals = [t + n for t, n in zip(self._totals, batch, strict=True)]
        log.info(
            "progress",
            records=self._in,
            valid=self._valid,
            quarantined=self._quarantined,
            # Owning no partition, the lag is the group's (what waits for anyone).
            lag=self._lag_total,
            partitions_assigned=assigned,
            healthy=self.health.is_live(),
            seconds_since_progress=round(self.health.seconds_since_progress(), 1),
            interval_s=self.progress_seconds,
            total_records=self._totals[0],
            total_valid=self._totals[1],
            total_quarantined=self._totals[2],
        )
        self._in = self._valid = self._quarantined = 0
