"""Run a librdkafka call the caller can give up on when it ignores its own timeout.

librdkafka's transactional calls wait on the transaction or group coordinator; after that
node is killed they may block far past their timeout (confluentinc/librdkafka#5456, a
request's timeout ignored; #5511, a coordinator dropped from metadata not looked up again).
The call runs in a daemon thread (confluent-kafka releases the GIL while it waits) and the
caller waits for it up to a bound. A call still running then raises `StuckCallError`, a
`RejoinRequiredError`: the handle it runs in must never be used again, and a new producer
with the same transactional id fences it and aborts its transaction. The thread keeps the
handle alive while the call runs, so it is never destroyed under a call in progress; a call
that never returns keeps its thread and handle until the process ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar, cast

from guard.errors import RejoinRequiredError

T = TypeVar("T")


class StuckCallError(RejoinRequiredError):
    """A client call ran past its bound: its client is abandoned, new clients are needed."""


class _Outcome(Generic[T]):
    """What the worker thread hands back: a value or an exception, and when it is there."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None


def call_bounded(what: str, call: Callable[[], T], bound_s: float) -> T:
    """`call()` in a daemon thread; its value or exception, or `StuckCallError` when it has
    not returned after `bound_s`. The thread is left running on a stuck call."""
    outcome: _Outcome[T] = _Outcome()

    def run() -> None:
        try:
            outcome.value = call()
        except BaseException as exc:  # handed to the caller, re-raised there
            outcome.error = exc
        finally:
            outcome.done.set()

    started = time.monotonic()
    worker = threading.Thread(target=run, name=f"guard-{what.replace(' ', '-')}", daemon=True)
    worker.start()
    if not outcome.done.wait(bound_s):
        waited = time.monotonic() - started
        raise StuckCallError(
            f"{what}: no answer from the client after {waited:.1f} s (bound {bound_s:g} s); "
            "the client is abandoned and replaced"
        )
    if outcome.error is not None:
        raise outcome.error
    return cast(T, outcome.value)  # set by run(): no error
