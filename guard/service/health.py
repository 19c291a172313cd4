"""Liveness and readiness of the service loop, for `/healthz` and `/readyz`.

Progress is a committed batch, or an idle poll while the last lag read found nothing to do.
An idle poll alone proves nothing: kafka-python returns empty polls while the broker is down.
So with the broker stopped the lag read fails, idle polls stop counting, and after
`stall_seconds` `/healthz` fails; a loop stuck inside a call calls no hook and fails the same way.
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

    def committed(self) -> None:
        self._last_progress = self._clock()
        self._progressed = True

    def idle_poll(self) -> None:
        if self._lag == 0:
            self._last_progress = self._clock()
            self._progressed = True

    def lag_read(self, total: int | None) -> None:
        self._lag = total

    def assignment(self, assigned: bool) -> None:
        self._assigned = assigned

    def _since_progress(self) -> float:
        return self._clock() - self._last_progress

    def live(self) -> Status:
        """Failing when no progress was made for `stall_seconds`."""
        since = self._since_progress()
        return Status(
            since <= self.stall_seconds,
            {"seconds_since_progress": round(since, 3), "lag": self._lag},
        )

    def ready(self) -> Status:
        """Partitions are assigned and the loop made progress within `ready_seconds`."""
        since = self._since_progress()
        return Status(
            self._assigned and self._progressed and since <= self.ready_seconds,
            {
                "partitions_assigned": self._assigned,
                "seconds_since_progress": round(since, 3),
                "lag": self._lag,
            },
        )
