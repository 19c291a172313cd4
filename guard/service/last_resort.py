"""The last resort when the interpreter itself is frozen.

The watchdog is a Python thread: it can act only while it gets the interpreter lock. A client
library call that blocks while holding that lock freezes every Python thread, the watchdog
included (confluent-kafka calls librdkafka's `rd_kafka_assign` from its rebalance callback with
the lock held, and that call waits on librdkafka's own thread without a bound). CI once saw an
idle confluent member log "stop requested" and then nothing at all until the test gave up
120 s later, past a 20 s stop grace.

So once a stop is seen, two timers that need no Python lock are armed:

- faulthandler's C thread writes every thread's stack to stderr `DUMP_AFTER_S` past the grace
  (what froze, for the report);
- the kernel's SIGALRM, whose default action ends the process, `KILL_AFTER_S` past the grace.

A process that finishes its stop in time disarms both (`disarm`); `bound_exit` + `arm_exit`
then bound the interpreter's own exit (client destructors run there) by the grace again.
A frozen process ends killed by SIGALRM (status 142 in a shell, -14 from Python's
subprocess), not with an exit code, distinct from every code `guard run` returns (README).

Only the `guard run` process arms them: SIGALRM would end whatever process hosts the loop.
"""

from __future__ import annotations

import contextlib
import faulthandler
import signal
import sys

DUMP_AFTER_S = 1.0
KILL_AFTER_S = 3.0


def arm(grace_left_s: float) -> None:
    """The stop must be done within `grace_left_s`; the watchdog exits with 3 at that point
    unless frozen, and these fire only after it."""
    left = max(grace_left_s, 0.0)
    if sys.__stderr__ is not None:  # no stderr at all (a detached process): no stack dump
        with contextlib.suppress(ValueError, OSError):  # a closed or fd-less stream
            faulthandler.dump_traceback_later(left + DUMP_AFTER_S, file=sys.__stderr__)
    signal.setitimer(signal.ITIMER_REAL, left + KILL_AFTER_S)


def disarm() -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)
    faulthandler.cancel_dump_traceback_later()


_exit_bound_s: float | None = None


def bound_exit(seconds: float) -> None:
    """Ask `arm_exit` to bound the interpreter's exit, once the command has returned."""
    global _exit_bound_s
    _exit_bound_s = seconds


def arm_exit() -> None:
    """Called by the console entry point only (never in a host process such as a test's
    CliRunner): the interpreter's exit runs client destructors, which may block too."""
    if _exit_bound_s is not None:
        arm(_exit_bound_s)
