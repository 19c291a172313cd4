"""Run a librdkafka call the caller can give up on when it ignores its own timeout.

librdkafka's transactional calls wait on the transaction or group coordinator; after that
node is killed they may block far past their timeout (confluentinc/librdkafka#5456, a
request's timeout ignored; #5511, a coordinator dropped from metadata not looked up again).
The call runs in a daemon worker thread (confluent-kafka releases the GIL while it waits) and
the caller waits for it up to a bound. A call still running then raises `StuckCallError`, a
`RejoinRequiredError`: the handle it runs in must never be used again, and a new producer
with the same transactional id fences it and aborts its transaction. The thread keeps the
handle alive while the call runs, so it is never destroyed under a call in progress; a call
that never returns keeps its thread and handle until the process ends.

An abandoned producer's call may still reach the broker once it is back: a late
`send_offsets_to_transaction` could then write the group's offsets into a transaction its
successor has already aborted, where no marker would ever clear them. Brokers with KIP-890
verification (on by default since Kafka 3.6) refuse such a write; for brokers without it, a
successor waits for the stuck calls to end first (`stuck_calls_pending`), up to a bound. (The
unstable offsets seen in the outage tests had another cause, markers the broker never wrote:
guard/transport/lost_commit.py.)
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar, cast

from guard.errors import RejoinRequiredError

T = TypeVar("T")


class StuckCallError(RejoinRequiredError):
    """A client call ran past its bound: its client is abandoned, new clients are needed."""


# Calls that ran past their bound and had not returned when last looked at: when each was
# given up, and the event set when it returns.
_stuck: list[tuple[float, threading.Event]] = []
_stuck_lock = threading.Lock()


def stuck_calls_pending(wait_at_most_s: float) -> bool:
    """Whether a call given up less than `wait_at_most_s` ago is still running (a new client
    should not be made yet). Calls that returned, or were given up longer ago, are forgotten:
    a call that never returns must not hold recovery for ever."""
    now = time.monotonic()
    with _stuck_lock:
        _stuck[:] = [(at, done) for at, done in _stuck if not done.is_set()]
        return any(now - at < wait_at_most_s for at, _ in _stuck)


class _Outcome(Generic[T]):
    """What the worker thread hands back: a value or an exception, and when it is there."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None


class _Worker:
    """A daemon thread that runs one call at a time, kept for the next call once it returns:
    starting a thread per call cost ~0.1 ms, four times per committed batch. A worker whose
    call is stuck is retired: never handed another call, it ends once that call returns."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="guard-bounded-call", daemon=True).start()

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def retire(self) -> None:
        self._jobs.put(None)  # taken after the call in progress, whenever that returns

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()


_idle: list[_Worker] = []  # workers whose last call returned
_idle_lock = threading.Lock()


def _take_worker() -> _Worker:
    with _idle_lock:
        if _idle:
            return _idle.pop()
    return _Worker()


def _give_back(worker: _Worker) -> None:
    with _idle_lock:
        _idle.append(worker)


def call_bounded(
    what: str, call: Callable[[], T], bound_s: float, holds_successor: bool = False
) -> T:
    """`call()` in a daemon worker thread; its value or exception, or `StuckCallError` when it
    has not returned after `bound_s`. The thread is left running on a stuck call; with
    `holds_successor` (a transactional producer's call), `stuck_calls_pending` reports it."""
    outcome: _Outcome[T] = _Outcome()

    name = f"guard-{what.replace(' ', '-')}"

    def run() -> None:
        threading.current_thread().name = name  # a stack dump names the call
        try:
            outcome.value = call()
        except BaseException as exc:  # handed to the caller, re-raised there
            outcome.error = exc
        finally:
            outcome.done.set()

    started = time.monotonic()
    worker = _take_worker()
    worker.submit(run)
    if not outcome.done.wait(bound_s):
        worker.retire()
        waited = time.monotonic() - started
        if holds_successor:
            with _stuck_lock:
                _stuck.append((time.monotonic(), outcome.done))
        raise StuckCallError(
            f"{what}: no answer from the client after {waited:.1f} s (bound {bound_s:g} s); "
            "the client is abandoned and replaced"
        )
    _give_back(worker)  # its call returned: free for the next one
    if outcome.error is not None:
        raise outcome.error
    return cast(T, outcome.value)  # set by run(): no error
