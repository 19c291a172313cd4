"""When the service replaces its clients (a rejoin), and when it must give up instead.

Fenced clients rejoin at once; a loop without progress while records wait rejoins once per
`metrics.stall_seconds`, counted from the last rejoin or the end of the last failure streak
(an outage is the retry loop's business, with its own budget). More than `retry.max_rejoins`
rejoins within `retry.rejoin_window_s` is an error: two instances running with one
`instance_id` fence each other for ever.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from guard.config.settings import GuardSettings
from guard.errors import FatalTransportError


class RejoinPolicy:
    def __init__(
        self, settings: GuardSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.retry = settings.retry
        self.stall_s = settings.metrics.stall_seconds
        self.instance_id = settings.kafka.instance_id
        self._clock = clock
        self._at: deque[float] = deque()  # when the clients were replaced, within the window
        self._stall_from = clock()  # a stall rejoin is due stall_s after this

    def streak_ended(self) -> None:
        """A failure streak just ended (a broker back): the clients reconnect by themselves."""
        self._stall_from = self._clock()

    def stall_due(self, stalled: bool) -> bool:
        """Whether a stalled loop should rejoin now (at most once per stall_seconds)."""
        return stalled and self._clock() - self._stall_from >= self.stall_s

    def record(self, error: str) -> None:
        """Count a rejoin; raises FatalTransportError past retry.max_rejoins in the window."""
        now = self._clock()
        self._stall_from = now  # new clients get a whole stall_seconds to make progress
        self._at.append(now)
        while self._at and now - self._at[0] > self.retry.rejoin_window_s:
            self._at.popleft()
        if len(self._at) > self.retry.max_rejoins:
            raise FatalTransportError(
                f"clients replaced {len(self._at)} times in {self.retry.rejoin_window_s:g} s "
                f"(retry.max_rejoins={self.retry.max_rejoins}); is another instance running "
                f"with instance_id {self.instance_id!r}? Last: {error}"
            )
