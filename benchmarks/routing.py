"""Per-record cost of the guard's own work, without a broker: routing valid records, routing
invalid ones (validation + the quarantine envelope), and the monitoring observer.

Input: demo `orders` records of ~260 bytes with two headers (a trace id and the version
header), routed in batches like the service does. Invalid records are a mix of contract
failures (wrong type, missing field, enum, pattern) and decode failures (not JSON, duplicate
key, NaN). Prints CPU microseconds per record (process time, best of --rounds, so other
processes on the machine disturb it less); asserts nothing.

Usage: python benchmarks/routing.py [--records N] [--batch B] [--rounds R] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import time
from collections.abc import Callable
from pathlib import Path

from guard.config.settings import GuardSettings, MonitoringSettings, Route
from guard.contracts import load_registry
from guard.demo.samples import good_order
from guard.logs import configure_logging
from guard.monitoring.observer import MonitoringObserver
from guard.routing import RoutedBatch, RoutePlan, Router
from guard.transport.base import InRecord, TimestampWindow
from guard.validation import RecordValidator

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def _enc(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _invalid(rng: random.Random, i: int) -> bytes:
    o = good_order(rng)
    kind = i % 7
    if kind == 0:
        o["amount"] = "12.50"
    elif kind == 1:
        del o["customer_email"]
    elif kind == 2:
        o["currency"] = "JPY"
    elif kind == 3:
        o["quantity"] = 0
    elif kind == 4:
        return b"order_id=42&amount=3"
    elif kind == 5:
        return _enc(o)[:-1] + b',"amount":1}'
    else:
        return _enc(o)[:-1] + b',"score":NaN}'
    return _enc(o)


def records(n: int, valid: bool, seed: int = 5) -> list[InRecord]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        value = _enc(good_order(rng)) if valid else _invalid(rng, i)
        headers: list[tuple[str, bytes | None]] = [
            ("trace-id", b"%016x" % rng.getrandbits(64)),
            ("schema-version", b"2"),
        ]
        ts = 1_700_000_000_000 + i
        out.append(InRecord("orders", i % 3, i, ts, b"k%d" % i, value, headers))
    return out


def router() -> Router:
    validator = RecordValidator(load_registry(SCHEMAS).subject("orders"), "all")
    # Size limits and timestamp windows as the service sets them for topics with Kafka 4's
    # defaults (the producer's 16 MiB; one hour ahead): every record is checked for both.
    limit = 16 * 1024 * 1024
    window = TimestampWindow(before_ms=None, after_ms=3_600_000)
    plan = RoutePlan(
        "orders", validator, "orders.valid", "orders.quarantine", 3, 3, limit, limit, window, window
    )
    return Router({"orders": plan}, "schema-version")


def best_us(n: int, rounds: int, run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best / n * 1e6


def batched(recs: list[InRecord], size: int) -> list[list[InRecord]]:
    return [recs[i : i + size] for i in range(0, len(recs), size)]


def observer() -> MonitoringObserver:
    settings = GuardSettings(
        topics={"orders": Route(subject="orders")},
        schemas_dir=SCHEMAS,
        monitoring=MonitoringSettings.model_validate(
            {
                "enabled": True,
                "windows": {"records": 1_000_000, "seconds": None},  # the per-record path only
                "baseline": {"source": "learn", "save": False},
            }
        ),
    )
    return MonitoringObserver(settings, load_registry(SCHEMAS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile each path once")
    args = parser.parse_args()
    configure_logging("WARNING")
    n, r = args.records, router()
    valid = batched(records(n, True), args.batch)
    invalid = batched(records(n, False), args.batch)
    for batches in (valid, invalid):  # every record lands where the benchmark says it does
        routed = [r.route(b) for b in batches]
        assert sum(x.stats.valid for x in routed) in (0, n), "mixed verdicts in the input"
    routed_valid = [r.route(b) for b in valid]

    def route_all(batches: list[list[InRecord]]) -> None:
        for b in batches:  # one routed batch alive at a time, as in the service
            r.route(b)

    paths: dict[str, Callable[[], object]] = {
        "route, valid record": lambda: route_all(valid),
        "route, invalid record": lambda: route_all(invalid),
    }
    obs = observer()

    def monitor(batches: list[RoutedBatch] = routed_valid) -> None:
        for routed in batches:
            obs.before_commit(routed)
            obs.after_commit()

    paths["monitoring observer, valid"] = monitor
    print(f"{n:,} records of ~260 B, batches of {args.batch}, best of {args.rounds} rounds:")
    for name, run in paths.items():
        print(f"  {name:<28} {best_us(n, args.rounds, run):7.2f} us/record")
        if args.profile:
            prof = cProfile.Profile()
            prof.runcall(run)
            pstats.Stats(prof).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
