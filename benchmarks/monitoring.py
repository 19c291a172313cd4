"""Cost of data-shape monitoring: profiling per record and per batch, and memory over a long
stream. Prints figures; asserts nothing (speed targets live here, never in timed tests).

  1. validation alone vs. profiling alone (WindowProfile.add) per record, by batch size,
     on the demo's `orders` records (12 profiled fields, 3 of them nested or arrays)
  2. the whole observer per batch (before_commit + after_commit: profile, window close,
     drift checks against a baseline, serialising the window profile)
  3. memory over a long stream: process RSS and serialised profile size as one window grows
     to N records (fresh random values, so distinct counts and categories keep growing)
  4. with --kafka: the guard on a local broker, monitoring off vs. on (same records)

Usage: python benchmarks/monitoring.py [--records N] [--batch B] [--kafka]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
import uuid
from pathlib import Path
from typing import Any

from guard.config.settings import GuardSettings, MonitoringSettings, Route
from guard.contracts import load_registry
from guard.demo.samples import good_order, sample_stream
from guard.logs import configure_logging
from guard.monitoring.drift import check_window
from guard.monitoring.observer import MonitoringObserver
from guard.monitoring.plan import plan_subject
from guard.monitoring.profile import Observation, WindowProfile
from guard.routing.router import RoutedBatch, RoutingStats
from guard.transport.base import InRecord
from guard.validation import RecordValidator
from guard.validation.validator import Verdict

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * 4096 / 1e6


def verdicts_for(n: int, seed: int = 7) -> list[Observation]:
    """Validated demo orders from partition 0, one millisecond apart."""
    validator = RecordValidator(load_registry(SCHEMAS).subject("orders"), "all")
    out: list[Observation] = []
    for i, s in enumerate(sample_stream(n, bad_share=0.1, seed=seed, large_bytes=2000)):
        version = dict(s.headers).get("schema-version")
        out.append(("orders/0", 1_700_000_000_000 + i, validator.validate(s.value, version)))
    return out


def bench_profiling(n: int) -> None:
    registry = load_registry(SCHEMAS)
    validator = RecordValidator(registry.subject("orders"), "all")
    samples = [
        (s.value, dict(s.headers).get("schema-version"))
        for s in sample_stream(n, bad_share=0.1, seed=7, large_bytes=2000)
    ]
    start = time.perf_counter()
    items = [(None, None, validator.validate(v, h)) for v, h in samples]
    validate_us = (time.perf_counter() - start) / n * 1e6
    plan = plan_subject(registry.subject("orders"), MonitoringSettings())
    print(f"validation alone:            {validate_us:6.1f} us/record")
    for batch in (50, 500, 5000):
        profile = WindowProfile.for_plan(plan)
        start = time.perf_counter()
        for i in range(0, n, batch):
            profile.add(plan, items[i : i + batch])
        elapsed = time.perf_counter() - start
        per_batch_ms = elapsed / -(-n // batch) * 1e3
        print(
            f"profiling, batch {batch:>5}:      {elapsed / n * 1e6:6.1f} us/record "
            f"({per_batch_ms:7.2f} ms/batch, {len(plan.fields)} fields)"
        )


def bench_drift_check() -> None:
    registry = load_registry(SCHEMAS)
    plan = plan_subject(registry.subject("orders"), MonitoringSettings())
    items = verdicts_for(30_000)
    baseline, window = WindowProfile.for_plan(plan), WindowProfile.for_plan(plan)
    baseline.add(plan, items[:20_000])
    window.add(plan, items[20_000:])
    check_window(plan, window, baseline)  # warm-up: scipy's first import
    start = time.perf_counter()
    for _ in range(20):
        check_window(plan, window, baseline)
    print(f"drift checks, one window:    {(time.perf_counter() - start) / 20 * 1e3:6.1f} ms")


def bench_observer(n: int, batch: int) -> None:
    settings = GuardSettings(
        topics={"orders": Route(subject="orders")},
        schemas_dir=SCHEMAS,
        monitoring=MonitoringSettings.model_validate(
            {
                "enabled": True,
                "windows": {"records": 10_000, "seconds": None},
                "baseline": {"source": "learn", "save": False},
            }
        ),
    )
    observer = MonitoringObserver(settings, load_registry(SCHEMAS))
    items = verdicts_for(n)
    batches = []
    for i in range(0, n, batch):
        verdicts = [
            (InRecord("orders", 0, j, ts or 0, None, b"", []), v)
            for j, (_src, ts, v) in enumerate(items[i : i + batch], start=i)
        ]
        batches.append(RoutedBatch([], {}, RoutingStats(), verdicts))
    produced = 0
    start = time.perf_counter()
    for routed in batches:
        produced += len(observer.before_commit(routed))
        observer.after_commit()
    elapsed = time.perf_counter() - start
    print(
        f"observer, batch {batch}:        {elapsed / n * 1e6:6.1f} us/record "
        f"({elapsed / len(batches) * 1e3:.2f} ms/batch; {n // 10_000} windows closed and checked, "
        f"{produced} records produced)"
    )


def random_verdict(rng: random.Random) -> Verdict:
    order: dict[str, Any] = good_order(rng)
    order["customer_email"] = f"c{rng.getrandbits(48)}@example.com"  # ever more distinct
    order["amount"] = rng.lognormvariate(3, 1)
    if rng.random() < 0.2:
        order["coupon"] = f"C{rng.getrandbits(32):X}"  # a categorical-looking field, unbounded
    order["order_id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return Verdict(True, "orders", 2, (2,), record=order)


def bench_memory(n: int, batch: int) -> None:
    registry = load_registry(SCHEMAS)
    plan = plan_subject(registry.subject("orders"), MonitoringSettings())
    rng = random.Random(1)
    profile = WindowProfile.for_plan(plan)
    gc.collect()
    base = rss_mb()
    marks = sorted({batch, n // 100, n // 10, n // 2, n})
    done = 0
    start = time.perf_counter()
    print(f"memory, one window growing to {n:,} records (RSS before: {base:.1f} MB):")
    while done < n:
        items = [(None, None, random_verdict(rng)) for _ in range(min(batch, n - done))]
        profile.add(plan, items)
        done += len(items)
        while marks and done >= marks[0]:
            marks.pop(0)
            size = len(json.dumps(profile.to_json()))
            print(
                f"  {done:>9,} records: RSS +{rss_mb() - base:6.1f} MB, "
                f"serialised profile {size / 1024:6.1f} KiB"
            )
    print(f"  (generating the records + profiling: {time.perf_counter() - start:.1f}s)")


def bench_kafka(n: int, batch: int) -> None:
    from guard.localbroker import LocalKafka
    from guard.service import build_service

    with LocalKafka(jvm="steady") as broker:
        from kafka import KafkaProducer
        from kafka.admin import KafkaAdminClient

        bootstrap, topic = broker.bootstrap_servers, f"bench.{uuid.uuid4().hex[:6]}"
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        admin.create_topics(
            {topic: {"num_partitions": 3, "replication_factor": 1}}, wait_for_metadata=True
        )
        admin.close()
        producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=256 * 1024)
        for i, s in enumerate(sample_stream(n, bad_share=0.1, seed=3, large_bytes=2000)):
            producer.send(topic, key=s.key, value=s.value, headers=s.headers, partition=i % 3)
        producer.flush(timeout=120)
        producer.close()
        print(f"guard on a local broker, {n:,} records, 3 partitions, batch {batch}:")
        for monitoring in (False, True):
            settings = GuardSettings(
                kafka={"bootstrap_servers": bootstrap, "group_id": uuid.uuid4().hex[:8]},
                schemas_dir=SCHEMAS,
                batch={"max_records": batch, "poll_timeout_ms": 1000},
                topics={topic: Route(subject="orders")},
                monitoring=MonitoringSettings.model_validate(
                    {
                        "enabled": monitoring,
                        "profiles_topic": f"{topic}.profiles",
                        "drift_topic": f"{topic}.drift",
                        "baseline": {"source": "learn", "save": False},  # leave schemas/ alone
                    }
                ),
            )
            registry = load_registry(SCHEMAS)
            observers = []
            if monitoring:
                observer = MonitoringObserver(settings, registry)
                observer.start()
                observers.append(observer)
            summary = build_service(settings, registry, observers=observers).run(max_records=n)
            print(
                f"  monitoring {'on ' if monitoring else 'off'}: {n / summary.seconds:8,.0f} "
                f"records/s ({summary.seconds:.2f}s, includes the group join)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000, help="long-stream length")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--kafka", action="store_true", help="also run the guard on a broker")
    args = parser.parse_args()
    configure_logging("WARNING")
    bench_memory(args.records, args.batch)  # first, while the process is fresh
    bench_profiling(20_000)
    bench_drift_check()
    bench_observer(50_000, args.batch)
    if args.kafka:
        bench_kafka(50_000, args.batch)


if __name__ == "__main__":
    main()
