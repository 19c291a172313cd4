"""SIGTERM/SIGINT that arrive while `guard run` starts up.

`guard run` imports its heavy modules (pydantic, the Kafka clients) and builds the service
before the service installs its own handlers; until then a SIGTERM took Python's default
action and killed the process (status -15), while the README promises exit 0 for a stop in any
state. These handlers only note the first signal; the service takes it over as a stop request
once its own handlers are in place, and ends the run at once with exit 0.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class EarlySignals:
    def __init__(self) -> None:
        self.reason: str | None = None  # the first signal's name, e.g. "SIGTERM"
        self._previous: dict[signal.Signals, Any] = {}

    def install(self) -> EarlySignals:
        for sig in _SIGNALS:
            self._previous[sig] = signal.signal(sig, self._note)
        return self

    def _note(self, signum: int, _frame: FrameType | None) -> None:
        # A flag only, as the service's handler: it may run between any two bytecodes.
        if self.reason is None:
            self.reason = signal.Signals(signum).name

    def restore(self) -> None:
        """Put back what was there before, unless someone (the service) has replaced us."""
        for sig, previous in self._previous.items():
            if signal.getsignal(sig) == self._note:
                signal.signal(sig, previous)
