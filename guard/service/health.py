"""Liveness and readiness of the service loop, for `/healthz` and `/readyz`.

Progress is a committed batch; an idle poll while the last lag read found nothing to do on the
partitions this instance owns; or, owning none, the group's committed offsets moving (another
member works) or nothing left to read in the source topics. An idle poll alone proves nothing:
kafka-python returns empty polls while the broker is down, and a consumer that lost every
partition (fenced, a stuck rebalance) polls nothing for ever. So with the broker stopped the lag
read fails, idle polls stop counting, and after `stall_seconds` `/healthz` fails; a loop stuck
inside a call calls no hook and fails the same way. `/readyz` is never ready while not live.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Status:
    ok: bool
    detail: dict[str, object]


class Health:
    def __init__(
        self,
        stall_seconds: float,
        ready_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stall_seconds = stall_seconds
        self.ready_seconds = ready_seconds
        self._clock = clock
        self._last_progress = clock()  # start-up counts as progress for liveness: a grace
        self._progressed = False  # ...but readiness needs a real commit or idle poll
        self._assigned = False
        self._lag: int | None = None  # total records waiting; None: unknown (read failed)
        self._group_committed: int | None = None  # sum of the group's committed offsets

    def committed(self) -> None:
        self._progress()

    def idle_poll(self) -> None:
        if self._assigned and self._lag == 0:
            self._progress()

    def lag_read(self, total: int | None) -> None:
        """Lag of the partitions this instance owns (None: the read failed)."""
        self._lag = total

    def group_read(self, lag: int | None, committed: int | None) -> None:
        """Owning no partition: the group's lag over every source partition, and the sum of
        its committed offsets (None: the read failed). No lag, or offsets that moved since
        the last read (another member commits), is progress; lag that does not move is not."""
        self._lag = lag
        if lag is None or committed is None:
            return
        moved = self._group_committed is not None and committed > self._group_committed
        self._group_committed = committed
        if lag == 0 or moved:
            self._progress()

    def assignment(self, assigned: bool) -> None:
        if assigned != self._assigned:
            self._group_committed = None  # a fresh baseline for the next unassigned spell
        self._assigned = assigned

    def _progress(self) -> None:
        self._last_progress = self._clock()
        self._progressed = True

    def seconds_since_progress(self) -> float:
        return self._clock() - self._last_progress

    def is_live(self) -> bool:
        return self.seconds_since_progress() <= self.stall_seconds

    def live(self) -> Status:
        """Failing when no progress was made for `stall_seconds`."""
        since = self.seconds_since_progress()
        return Status(
            since <= self.stall_seconds,
            {
                "seconds_since_progress": round(since, 3),
                "lag": self._lag,
                "partitions_assigned": self._assigned,
            },
        )

    def ready(self) -> Status:
        """Live, partitions assigned, and progress within `ready_seconds`."""
        since = self.seconds_since_progress()
        return Status(
            self._assigned and self._progressed and since <= self.ready_seconds,
            {
                "partitions_assigned": self._assigned,
                "seconds_since_progress": round(since, 3),
                "lag": self._lag,
            },
        )
