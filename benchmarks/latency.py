"""End-to-end latency: records produced at a steady pace, each stamped with its send time, and
a read_committed reader noting when each one becomes visible on an output topic.

A few primer records go first; the paced records follow only once the contender has made a
primer visible, so start-up and group join are not counted as latency.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from confluent_kafka import Consumer, Producer, TopicPartition

from benchmarks.dataset import PARTITIONS, Record

PRIMERS = PARTITIONS * 2


def paced_latencies(
    bootstrap: str,
    source: str,
    outputs: list[str],
    batch: list[Record],
    rate: float,
    run_contender: Callable[[], None],
) -> list[float]:
    """Latencies (seconds) of the paced records, measured while `run_contender` runs (it must
    stop by itself after len(batch) records)."""
    reader = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "log_level": 4,  # librdkafka info lines are noise in the table
            "group.id": "bench-latency",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,
        }
    )
    reader.assign([TopicPartition(t, p, 0) for t in outputs for p in range(PARTITIONS)])
    seen: list[tuple[int, float]] = []  # (record timestamp ms, visible at)
    first_seen, stop = threading.Event(), threading.Event()
    paced_from: list[int] = []

    def read() -> None:
        while not stop.is_set():
            for msg in reader.consume(num_messages=1000, timeout=0.1):
                if msg.error() is None:
                    seen.append((msg.timestamp()[1], time.time()))
                    first_seen.set()

    def produce() -> None:
        producer = Producer(
            {"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": "all", "log_level": 4}
        )

        def send(i: int, rec: Record) -> None:
            producer.produce(
                source,
                key=rec.key,
                value=rec.value,
                headers=rec.headers,
                partition=i % PARTITIONS,
                timestamp=int(time.time() * 1000),
            )
            producer.poll(0)

        for i, rec in enumerate(batch[:PRIMERS]):
            send(i, rec)
        producer.flush(30)
        if not first_seen.wait(120):
            return
        paced_from.append(int(time.time() * 1000))
        start = time.monotonic()
        for i, rec in enumerate(batch[PRIMERS:], start=PRIMERS):
            delay = start + (i - PRIMERS) / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            send(i, rec)
        producer.flush(60)

    threads = [threading.Thread(target=read), threading.Thread(target=produce)]
    for t in threads:
        t.start()
    try:
        run_contender()
        time.sleep(0.5)  # the reader's last fetch
    finally:
        stop.set()
        first_seen.set()  # a contender that never produced must not hold the producer
        for t in threads:
            t.join(timeout=120)
        reader.close()
    if not paced_from:
        return []
    return [at - ts / 1000 for ts, at in seen if ts >= paced_from[0]]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
