"""`guard run` with one client call made to hang, to provoke a stall in a real process.

    python -m tests.service.hang_child <poll|commit> <good_calls> run --config guard.yaml

After `good_calls` real calls, kafka-python's `KafkaConsumer.poll` (or the guard's
transactional commit) spins forever at full CPU without returning, as kafka-python 3.0 does
on a record whose header key is not UTF-8. The rest of the process is the real `guard run`.
"""

from __future__ import annotations

import sys
from typing import Any

from kafka import KafkaConsumer

from guard.transport.txproducer import TxProducer


def _spin(name: str) -> None:
    print(f"hang_child: spinning in {name}", file=sys.stderr, flush=True)
    while True:  # busy, like the client bug: the GIL still lets the watchdog thread run
        pass


def _hang_after(cls: Any, method: str, good_calls: int, label: str) -> None:
    real = getattr(cls, method)
    calls = [0]

    def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] > good_calls:
            _spin(label)
        return real(self, *args, **kwargs)

    setattr(cls, method, patched)


def main() -> None:
    where, good = sys.argv[1], int(sys.argv[2])
    if where == "poll":
        _hang_after(KafkaConsumer, "poll", good, "poll")
    elif where == "commit":
        _hang_after(TxProducer, "commit", good, "commit")
    else:
        raise SystemExit(f"unknown hang point {where!r}")
    sys.argv = ["guard", *sys.argv[3:]]
    from guard.cli.main import main as guard_main

    guard_main()


if __name__ == "__main__":
    main()
