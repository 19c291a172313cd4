"""Would overlapping a batch's commit with the next batch's check make the guard faster?

A raw confluent transactional copy (consume 500 -> produce -> flush -> send offsets -> commit)
with a stand-in for the guard's per-record check, run two ways: in sequence, as the guard
does, and pipelined (the commit of batch N on a worker thread while the main thread consumes
and checks batch N+1). The stand-in either holds the interpreter lock, as the guard's Python
and pydantic-core check does, or sleeps it off, as a check done outside the interpreter would.
Prints records/s, CPU per record and where each batch's time went. Asserts nothing.

Usage: python -m benchmarks.pipelining [--bootstrap HOST:PORT] [--records N] [--rounds R]
       [--check-us US] [--switch-interval S]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from benchmarks import dataset, topics
from benchmarks.client_tuning import broker

BATCH = 500
TIMEOUT_S = 30.0


@dataclass
class Steps:
    """Seconds spent per step, summed over batches."""

    check: float = 0.0
    flush: float = 0.0
    offsets_and_commit: float = 0.0
    waiting_for_commit: float = 0.0
    batches: int = 0

    def per_batch_ms(self) -> dict[str, float]:
        n = max(self.batches, 1)
        return {
            "check": round(self.check / n * 1000, 2),
            "flush": round(self.flush / n * 1000, 2),
            "offsets+commit": round(self.offsets_and_commit / n * 1000, 2),
            "main thread waits on commit": round(self.waiting_for_commit / n * 1000, 2),
        }


@dataclass
class Run:
    records_per_s: float
    cpu_us_per_record: float
    steps: Steps = field(default_factory=Steps)


def _check(msgs: list[Any], check_us: float, holds_lock: bool) -> list[tuple[Any, ...]]:
    """The stand-in check: `check_us` per record, holding the interpreter lock or not."""
    if not holds_lock:
        time.sleep(len(msgs) * check_us / 1e6)
    out = []
    clock = time.perf_counter
    for m in msgs:
        if holds_lock:
            until = clock() + check_us / 1e6
            while clock() < until:
                pass
        out.append((m.key(), m.value(), m.headers(), m.partition(), m.timestamp()[1]))
    return out


def copy(
    bootstrap: str, source: str, target: str, records: int, check_us: float, holds_lock: bool,
    pipelined: bool,
) -> Run:  # fmt: skip
    group = f"pipelining-{uuid.uuid4().hex[:8]}"
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": group, "isolation.level": "read_committed",
        "auto.offset.reset": "earliest", "enable.auto.commit": False,
    })  # fmt: skip
    consumer.subscribe([source])
    producer = Producer({
        "bootstrap.servers": bootstrap, "transactional.id": group, "linger.ms": 5,
        "delivery.report.only.error": True,
    })  # fmt: skip
    producer.init_transactions(TIMEOUT_S)
    steps = Steps()
    clock = time.perf_counter

    def commit(positions: list[TopicPartition]) -> None:
        started = clock()
        producer.flush(TIMEOUT_S)
        flushed = clock()
        producer.send_offsets_to_transaction(
            positions, consumer.consumer_group_metadata(), TIMEOUT_S
        )
        producer.commit_transaction(TIMEOUT_S)
        steps.flush += flushed - started
        steps.offsets_and_commit += clock() - flushed

    pending: Future[None] | None = None
    done, started_at, cpu_at = 0, 0.0, 0.0
    with ThreadPoolExecutor(1) as worker:
        while done < records:
            msgs = consumer.consume(min(BATCH, records - done), 1.0)
            if not msgs:
                continue
            if not started_at:
                started_at, cpu_at = time.monotonic(), time.process_time()
            began = clock()
            out = _check(msgs, check_us, holds_lock)
            checked = clock()
            if pending is not None:
                pending.result()
            steps.check += checked - began
            steps.waiting_for_commit += clock() - checked
            producer.begin_transaction()
            for key, value, headers, partition, ts in out:
                producer.produce(target, value, key, partition, None, None, ts, headers)
            positions: dict[tuple[str, int], int] = {}
            for m in msgs:
                positions[(m.topic(), m.partition())] = m.offset() + 1
            offsets = [TopicPartition(t, p, o) for (t, p), o in positions.items()]
            if pipelined:
                pending = worker.submit(commit, offsets)
            else:
                waited = clock()
                commit(offsets)
                steps.waiting_for_commit += clock() - waited
            done += len(msgs)
            steps.batches += 1
        if pending is not None:
            pending.result()
    elapsed = time.monotonic() - started_at
    cpu = time.process_time() - cpu_at
    consumer.close()
    return Run(done / elapsed, cpu / done * 1e6, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", help="an existing broker; default: start one")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--check-us", type=float, default=8.0, help="stand-in check per record")
    parser.add_argument(
        "--switch-interval", type=float, default=None,
        help="sys.setswitchinterval for the run (CPython's default: 0.005 s)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    with broker(args.bootstrap) as bootstrap:
        run_id = uuid.uuid4().hex[:6]
        source, target = f"pipelining.{run_id}.in", f"pipelining.{run_id}.out"
        topics.create(bootstrap, [source, target])
        dataset.load(bootstrap, source, dataset.records(dataset.HEADLINE, args.records))
        variants = {
            f"{how}, check holds the lock": (True, how == "pipelined")
            for how in ("in sequence", "pipelined")
        } | {
            f"{how}, check releases the lock": (False, how == "pipelined")
            for how in ("in sequence", "pipelined")
        }
        runs: dict[str, list[Run]] = {name: [] for name in variants}
        for _ in range(args.rounds):  # interleaved: load drift hits every variant alike
            for name, (holds_lock, pipelined) in variants.items():
                run = copy(
                    bootstrap, source, target, args.records, args.check_us, holds_lock, pipelined
                )
                runs[name].append(run)
        print(f"check {args.check_us:g} us per record, switch interval "
              f"{sys.getswitchinterval():g} s, {args.records:,} records, medians of "
              f"{args.rounds} rounds")  # fmt: skip
        for name, got in runs.items():
            middle = sorted(got, key=lambda r: r.records_per_s)[len(got) // 2]
            rate = statistics.median(r.records_per_s for r in got)
            cpu = statistics.median(r.cpu_us_per_record for r in got)
            print(f"  {name:40s} {rate:9,.0f} records/s {cpu:6.1f} CPU us/record  "
                  f"per batch: {middle.steps.per_batch_ms()}")  # fmt: skip


if __name__ == "__main__":
    main()
