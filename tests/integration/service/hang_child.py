"""`guard run` with one pipe call made to hang, to provoke a stall in a real process.

    python -m tests.integration.service.hang_child <poll|commit|close> <good> run --config g.yaml

The pipe `guard.transport.factory.open_pipe` returns (whichever client `kafka.client` picks)
is wrapped so that after `good_calls` real calls its `poll` (or `commit`) spins forever at
full CPU without returning, as kafka-python 3.0 does on a record whose header key is not
UTF-8; or its `close` freezes the whole interpreter: a C call that blocks while holding the
interpreter lock, as a client library's can, so no Python thread (the watchdog's included)
runs again. Everything else is the real `guard run` against the real broker.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

import guard.transport.factory as factory


def _spin(name: str) -> None:
    print(f"hang_child: spinning in {name}", file=sys.stderr, flush=True)
    while True:  # busy, like the client bug; the GIL still lets the watchdog thread run
        pass


def _freeze(name: str) -> None:
    print(f"hang_child: frozen in {name}", file=sys.stderr, flush=True)
    libc = ctypes.PyDLL(None)  # PyDLL: the call keeps the interpreter lock
    while True:
        libc.pause()  # returns only for a signal with a handler; the lock is never let go


class _HangingPipe:
    def __init__(self, pipe: Any, where: str, good_calls: int) -> None:
        self._pipe, self._where, self._left = pipe, where, good_calls

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._pipe, name)
        if name != self._where:
            return real

        def call(*args: Any, **kwargs: Any) -> Any:
            if self._left <= 0:
                _freeze(name) if name == "close" else _spin(name)
            self._left -= 1
            return real(*args, **kwargs)

        return call


def main() -> None:
    where, good = sys.argv[1], int(sys.argv[2])
    if where not in ("poll", "commit", "close"):
        raise SystemExit(f"unknown hang point {where!r}")
    real_open = factory.open_pipe
    factory.open_pipe = lambda settings: _HangingPipe(real_open(settings), where, good)  # type: ignore[assignment]
    sys.argv = ["guard", *sys.argv[3:]]
    from guard.cli.main import main as guard_main

    guard_main()


if __name__ == "__main__":
    main()
