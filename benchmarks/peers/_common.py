"""What every peer shares: its arguments, its stop condition and its result line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field


def parse_args(description: str, modes: tuple[str, ...] = ()) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--valid", help="output topic (copy or valid records)")
    parser.add_argument("--dlq", help="dead-letter topic (invalid records)")
    parser.add_argument("--group", required=True)
    parser.add_argument("--records", type=int, required=True, help="stop after this many")
    parser.add_argument("--batch", type=int, default=500, help="records per commit")
    parser.add_argument("--idle", type=float, default=30.0, help="stop after this idle time")
    parser.add_argument("--schemas", help="directory of exported JSON Schemas")
    parser.add_argument("--state-dir", help="scratch directory (Quix state)")
    if modes:
        parser.add_argument("--mode", choices=modes, required=True)
    return parser.parse_args()


@dataclass
class Progress:
    """Counts and commit times; `done()` is the stop condition (count or idle)."""

    target: int
    idle: float
    records: int = 0
    valid: int = 0
    invalid: int = 0
    n_first: int = 0
    t_first: float = 0.0
    t_last: float = 0.0
    _last_data: float = field(default_factory=time.monotonic)

    def committed(self, n: int) -> None:
        """`n` more records are committed (or, for a consume-only peer, handed over)."""
        now = time.time()
        self.records += n
        if not self.n_first:
            self.n_first, self.t_first = self.records, now
        self.t_last = now
        self._last_data = time.monotonic()

    def done(self) -> bool:
        return self.records >= self.target or time.monotonic() - self._last_data > self.idle

    def report(self) -> None:
        print(
            json.dumps(
                {
                    "records": self.records,
                    "valid": self.valid,
                    "invalid": self.invalid,
                    "n_first": self.n_first,
                    "t_first": self.t_first,
                    "t_last": self.t_last,
                }
            ),
            flush=True,
        )
        sys.stdout.flush()
