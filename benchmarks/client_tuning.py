"""Pick the transport defaults by measurement: the guard on each client, with tuning variants.

Loads one topic (~260 B order records, 20% malformed, 3 partitions), then runs the guard over
it once per variant, the variants interleaved over several rounds so drift in machine load
hits all alike. Prints the median records/s and CPU seconds per 1M records of each variant.
Asserts nothing: speed is measured here, never by timed tests.

Usage: python benchmarks/client_tuning.py [--records N] [--rounds R] [--bootstrap HOST:PORT]
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from guard.config import GuardSettings, KafkaSettings
from guard.contracts import load_registry
from guard.demo.samples import sample_stream
from guard.localbroker import LocalKafka
from guard.logs import configure_logging
from guard.service import build_service
from guard.transport.factory import ensure_topics

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
PARTITIONS = 3

# name -> kafka settings (client and tuning); the batch is the service's records per commit.
VARIANTS: dict[str, dict[str, Any]] = {
    "kafka-python, linger 5 ms, batch 16 KiB (old)": {
        "client": "kafka-python",
        "linger_ms": 5,
        "batch_size": 16_384,
    },
    "kafka-python, linger 100 ms, batch 1 MiB": {
        "client": "kafka-python",
        "linger_ms": 100,
        "batch_size": 1_048_576,
    },
    "kafka-python, linger 1000 ms, batch 1 MiB": {
        "client": "kafka-python",
        "linger_ms": 1000,
        "batch_size": 1_048_576,
    },
    "confluent, linger 100 ms, flush before offsets": {
        "client": "confluent",
        "linger_ms": 100,
        "batch_size": 1_048_576,
        "flush_before_offsets": True,
    },
    "confluent, linger 100 ms, no flush before offsets": {
        "client": "confluent",
        "linger_ms": 100,
        "batch_size": 1_048_576,
        "flush_before_offsets": False,
    },
}


def load(bootstrap: str, topic: str, n: int) -> None:
    ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), {topic: PARTITIONS})
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=256 * 1024
    )
    for i, s in enumerate(sample_stream(n, bad_share=0.2, seed=1, large_bytes=2_000)):
        producer.send(topic, key=s.key, value=s.value, headers=s.headers, partition=i % PARTITIONS)
    producer.flush(timeout=120)
    producer.close(timeout=10)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # all threads: librdkafka's too
    return usage.ru_utime + usage.ru_stime


def guard_run(
    bootstrap: str, topic: str, n: int, batch: int, kafka: dict[str, Any]
) -> tuple[float, float]:
    settings = GuardSettings(
        kafka={
            "bootstrap_servers": bootstrap,
            "group_id": f"tuning-{uuid.uuid4().hex[:8]}",
            "instance_id": uuid.uuid4().hex[:8],
            **kafka,
        },
        schemas_dir=SCHEMAS,
        batch={"max_records": batch, "poll_timeout_ms": 1000},
        topics={topic: {"subject": "orders"}},
    )
    service = build_service(settings, load_registry(SCHEMAS))
    cpu, start = cpu_seconds(), time.perf_counter()
    summary = service.run(max_records=n)
    elapsed, used = time.perf_counter() - start, cpu_seconds() - cpu
    assert summary.stats.total == n, summary.stats.total
    return elapsed, used


def raw_confluent_copy(
    bootstrap: str, topic: str, n: int, batch: int, flush: bool
) -> tuple[float, float]:
    """The pipeline shape without validation, on confluent-kafka directly: its ceiling."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    out = f"{topic}.rawcopy"
    ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), {out: PARTITIONS})
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"raw-{uuid.uuid4().hex[:8]}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    producer = Producer(
        {"bootstrap.servers": bootstrap, "transactional.id": uuid.uuid4().hex, "linger.ms": 100}
    )
    producer.init_transactions(30)
    consumer.subscribe([topic])
    seen, cpu, start = 0, cpu_seconds(), time.perf_counter()
    while seen < n:
        msgs = consumer.consume(min(batch, n - seen), 1.0)
        if not msgs:
            continue
        producer.begin_transaction()
        offsets: dict[int, int] = {}
        for m in msgs:
            producer.produce(out, m.value(), m.key(), m.partition(), headers=m.headers())
            offsets[m.partition()] = m.offset() + 1
        if flush:
            producer.flush(30)
        producer.send_offsets_to_transaction(
            [TopicPartition(topic, p, o) for p, o in offsets.items()],
            consumer.consumer_group_metadata(),
            30,
        )
        producer.commit_transaction(30)
        seen += len(msgs)
    elapsed, used = time.perf_counter() - start, cpu_seconds() - cpu
    consumer.close()
    return elapsed, used


@contextlib.contextmanager
def broker(bootstrap: str | None) -> Iterator[str]:
    if bootstrap:
        yield bootstrap
        return
    with LocalKafka(jvm="steady") as local:
        yield local.bootstrap_servers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--bootstrap", help="an existing broker (default: start a local one)")
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    with broker(args.bootstrap) as bootstrap:
        topic = f"tuning-{uuid.uuid4().hex[:6]}"
        load(bootstrap, topic, args.records)
        rates: dict[str, list[float]] = {name: [] for name in VARIANTS}
        cpus: dict[str, list[float]] = {name: [] for name in VARIANTS}
        raws = {"raw confluent copy, flush before offsets": True, "raw confluent copy": False}
        rates.update({name: [] for name in raws})
        cpus.update({name: [] for name in raws})
        for r in range(args.rounds):
            for name, kafka in VARIANTS.items():
                elapsed, used = guard_run(bootstrap, topic, args.records, args.batch, kafka)
                rates[name].append(args.records / elapsed)
                cpus[name].append(used / args.records * 1e6)
            for name, flush in raws.items():
                elapsed, used = raw_confluent_copy(
                    bootstrap, topic, args.records, args.batch, flush
                )
                rates[name].append(args.records / elapsed)
                cpus[name].append(used / args.records * 1e6)
            print(f"round {r + 1}/{args.rounds} done", flush=True)
        print(f"\n{args.records:,} records, batch {args.batch}, median of {args.rounds} rounds")
        for name in rates:
            print(
                f"{name:<50} {statistics.median(rates[name]):>9,.0f} records/s"
                f"  {statistics.median(cpus[name]):>6.1f} CPU s per 1M records"
            )


if __name__ == "__main__":
    main()
