"""Stop conditions that hold even while the loop is stuck inside a client call.

The loop marks each step it takes (a client call, routing a batch) on a `StepTracker`; a
daemon `Watchdog` thread reads those marks and ends the process when

- one step is held longer than `service.stall_timeout_s` (a client spinning or blocked:
  kafka-python 3.0 spins in `poll` on a record whose header key is not UTF-8), or
- records were polled but none committed for `service.stall_timeout_s` (steps return, but the
  loop goes round without progress; the retry limits normally end such a loop first), or
- a stop was requested (SIGTERM/SIGINT) and the loop has not finished `service.stop_grace_s`
  later (a commit or close waiting on a dead broker): it exits within the grace, not after.

Either way it logs one fatal line naming the step, how long it was held and the batch in flight
(source partitions and offsets, when one was polled), then exits with 3 without closing the
clients: whatever transaction was open is aborted by the next instance with the same
transactional id (or by the broker after `transaction_timeout_ms`), so nothing is lost.

A signal handler only sets `StopFlag.reason` (a plain attribute): it may run between any two
bytecodes of the main thread, so it takes no lock, logs nothing and calls no client.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from guard.service import last_resort
from guard.transport.base import InRecord

EXIT_STALLED = 3  # same as a broker failure retrying could not fix (guard/cli/main.py)


class StopFlag:
    """A stop request: set from a signal handler or another thread, read by the loop."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def set(self, reason: str) -> None:
        if self.reason is None:  # the first request names the stop
            self.reason = reason

    def is_set(self) -> bool:
        return self.reason is not None

    def sleep(self, seconds: float, tick: float = 0.05) -> None:
        """Sleep, but return as soon as a stop is requested (a backoff cut short)."""
        deadline = time.monotonic() + seconds
        while not self.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(tick, left))


class InFlight:
    """The source span of one polled batch: per partition, first and last offset."""

    def __init__(self, batch: list[InRecord]) -> None:
        # The batch itself until someone asks (the loop keeps it alive until it commits
        # anyway): working out the spans per poll cost ~0.4 us per record.
        self._batch: list[InRecord] | None = batch
        self._spans: dict[tuple[str, int], tuple[int, int]] | None = None
        self._lock = threading.Lock()  # the loop lets go while the watchdog may describe

    @property
    def spans(self) -> dict[tuple[str, int], tuple[int, int]]:
        with self._lock:
            if self._spans is None:
                spans: dict[tuple[str, int], tuple[int, int]] = {}
                for r in self._batch or ():
                    first, _ = spans.get((r.topic, r.partition), (r.offset, r.offset))
                    spans[(r.topic, r.partition)] = (min(first, r.offset), r.offset)
                self._spans, self._batch = spans, None
            return self._spans

    @property
    def holds_records(self) -> bool:
        return self._batch is not None

    def let_go(self) -> None:
        """Keep only the spans: the batch was aborted and is not the loop's any more, so its
        records (values and all) must not outlive it here through a backoff or an outage."""
        _ = self.spans

    def describe(self) -> list[dict[str, object]]:
        return [
            {"topic": t, "partition": p, "first_offset": a, "last_offset": b}
            for (t, p), (a, b) in sorted(self.spans.items())
        ]


@dataclass
class StepTracker:
    """What the loop is doing now; written by the loop thread, read by the watchdog."""

    step: str | None = None
    since: float = 0.0
    in_flight: InFlight | None = None  # the last batch polled and not committed yet
    # Next offset to read per source partition after this run's last commit.
    committed: dict[tuple[str, int], int] = field(default_factory=dict)
    # Since when polled records wait for a commit (None: nothing waits).
    waiting_since: float | None = None
    finished: bool = False

    def polled(self, batch: list[InRecord]) -> None:
        self.in_flight = InFlight(batch)
        if self.waiting_since is None:
            self.waiting_since = time.monotonic()

    def aborted_batch(self) -> None:
        """The batch in flight was aborted: it stays what waits (it is polled again), as its
        offset spans only."""
        if self.in_flight is not None:
            self.in_flight.let_go()

    def committed_batch(self, offsets: Mapping[tuple[str, int], int]) -> None:
        self.committed.update(offsets)
        self.in_flight = None
        self.waiting_since = None

    @contextmanager
    def doing(self, step: str) -> Iterator[None]:
        outer, outer_since = self.step, self.since
        self.step, self.since = step, time.monotonic()
        try:
            yield
        finally:
            # A nested step (e.g. poll inside prepare) hands the clock back to the outer one.
            self.step, self.since = outer, (outer_since if outer else 0.0)


@dataclass(frozen=True)
class Stall:
    """Why the watchdog ended the process."""

    cause: str  # "stalled" (one step held too long), "no-progress", "stop-grace-exceeded"
    step: str | None
    held_s: float
    in_flight: list[dict[str, object]]
    resume_at: dict[str, int]


def exit_process(stall: Stall) -> None:
    """The default action: one fatal line, then exit 3 at once (the loop cannot be trusted
    to unwind: it is stuck inside a client). The line is written straight to fd 2, not
    through structlog or sys.stderr: a thread frozen inside a write may hold their locks."""
    line = {
        "event": "watchdog: the service loop is stuck; exiting",
        "cause": stall.cause,
        "step": stall.step,
        "held_s": round(stall.held_s, 1),
        "in_flight": stall.in_flight,
        "resume_at": stall.resume_at,
        "exit_code": EXIT_STALLED,
        "level": "critical",
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    try:
        os.write(2, (json.dumps(line, default=str) + "\n").encode())
    finally:
        os._exit(EXIT_STALLED)


class Watchdog:
    """A daemon thread that ends the process when the loop is stuck (see module docstring)."""

    def __init__(
        self,
        tracker: StepTracker,
        stop: StopFlag,
        stall_timeout_s: float,
        stop_grace_s: float,
        on_stall: Callable[[Stall], None] = exit_process,
        clock: Callable[[], float] = time.monotonic,
        last_resort: bool = False,
    ) -> None:
        self.tracker = tracker
        self.stop = stop
        self.stall_timeout_s = stall_timeout_s
        self.stop_grace_s = stop_grace_s
        self.on_stall = on_stall
        self.clock = clock
        # Short: a stop is seen at most one interval late, and the grace is cut by one
        # interval, so a stop that cannot finish exits within service.stop_grace_s.
        self.interval = min(0.1, stall_timeout_s / 10, stop_grace_s / 10)
        self._stop_seen_at: float | None = None
        # Arm last_resort's lock-free timers when a stop is seen (the `guard run` process only).
        self.last_resort = last_resort
        self._armed = False
        self._done = threading.Event()  # set only by the loop thread, never by a handler
        self._thread = threading.Thread(target=self._watch, name="guard-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        if self._armed:
            last_resort.disarm()
            self._armed = False

    def notice_stop(self) -> None:
        """A stop was requested: start the grace, and arm the last resort (once). Called by
        the watchdog thread, and by the loop's thread itself (the signal handler, the close)
        before anything that could freeze it: a thread frozen holding the interpreter lock
        would keep the watchdog thread from ever arming it."""
        if self._stop_seen_at is None:
            self._stop_seen_at = self.clock()
        if self.last_resort and not self._armed:
            self._armed = True
            last_resort.arm(self.stop_grace_s - (self.clock() - self._stop_seen_at))

    def check(self) -> Stall | None:
        """One look at the loop; the Stall to act on, if any."""
        t = self.tracker
        if t.finished:
            return None
        now = self.clock()
        if self.stop.is_set() and self._stop_seen_at is None:
            self._stop_seen_at = now
        grace = self.stop_grace_s - self.interval
        if self._stop_seen_at is not None and now - self._stop_seen_at > grace:
            return self._stall("stop-grace-exceeded", now - self._stop_seen_at)
        step, since = t.step, t.since  # one read each: the loop thread may change them
        if step is not None and since and now - since > self.stall_timeout_s:
            return self._stall("stalled", now - since, step)
        waiting = t.waiting_since
        if waiting is not None and now - waiting > self.stall_timeout_s:
            return self._stall("no-progress", now - waiting)
        return None

    def _stall(self, cause: str, held: float, step: str | None = None) -> Stall:
        t = self.tracker
        in_flight = t.in_flight
        return Stall(
            cause,
            step if step is not None else t.step,
            held,
            in_flight.describe() if in_flight else [],
            {f"{topic}/{p}": o for (topic, p), o in sorted(t.committed.items())},
        )

    def _watch(self) -> None:
        while not self._done.wait(self.interval):
            stall = self.check()
            if stall is not None:
                self.on_stall(stall)
                return
            if self._stop_seen_at is not None:
                self.notice_stop()
