"""Throughput of the guard against the raw kafka-python client, on a local broker.

Prints figures; asserts nothing (speed targets are checked here, never by timed tests).

  1. validator only: RecordValidator.validate on in-memory bytes (valid, and a 20% bad mix)
  2. raw consume: a read_committed KafkaConsumer reading the topic, doing nothing
  3. raw transactional copy: consume -> produce -> send_offsets -> commit per batch, no checks
     (the same pipeline shape as the guard, minus validation: its ceiling)
  4. the guard: GuardService over the same topic

Usage: python benchmarks/throughput.py [--records N] [--batch B]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
import uuid
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from guard.config import KafkaSettings, load_settings
from guard.contracts import load_registry
from guard.demo.samples import sample_stream
from guard.localbroker import LocalKafka
from guard.logs import configure_logging
from guard.service import GuardService
from guard.transport.admin import ensure_topics
from guard.transport.kafka import KafkaPipe
from guard.validation import RecordValidator

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
PARTITIONS = 3


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>10,.0f} records/s  ({n:,} in {seconds:.2f}s)"


def bench_validator(n: int) -> None:
    validator = RecordValidator(load_registry(SCHEMAS).subject("orders"), "latest")
    for label, share in (("valid only", 0.0), ("20% malformed", 0.2)):
        samples = [
            (s.value, dict(s.headers).get("schema-version"))
            for s in sample_stream(n, bad_share=share, large_bytes=1_100_000)
        ]
        start = time.perf_counter()
        for value, header in samples:
            validator.validate(value, header)
        elapsed = time.perf_counter() - start
        print(f"validator, {label:<14} {rate(n, elapsed)}  {elapsed / n * 1e6:.1f} us/record")


def produce(bootstrap: str, topic: str, n: int) -> int:
    ensure_topics(
        KafkaSettings(bootstrap_servers=bootstrap), {topic: PARTITIONS, f"{topic}.copy": PARTITIONS}
    )
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=256 * 1024
    )
    size = 0
    for i, s in enumerate(sample_stream(n, bad_share=0.0)):
        assert s.value is not None
        size += len(s.value)
        producer.send(topic, key=s.key, value=s.value, headers=s.headers, partition=i % PARTITIONS)
    producer.flush(timeout=120)
    producer.close(timeout=10)
    return size // n


def raw_consume(bootstrap: str, topic: str, n: int, batch: int) -> float:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"raw-{uuid.uuid4().hex[:6]}",
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=batch,
    )
    seen, start = 0, None
    while seen < n:
        got = consumer.poll(timeout_ms=1000, max_records=batch)
        if got and start is None:
            start = time.perf_counter()  # exclude the group join
        seen += sum(len(v) for v in got.values())
    assert start is not None
    elapsed = time.perf_counter() - start
    consumer.close(autocommit=False)
    return elapsed


def raw_transactional_copy(bootstrap: str, topic: str, n: int, batch: int) -> float:
    out = f"{topic}.copy"
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"copy-{uuid.uuid4().hex[:6]}",
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        transactional_id=f"copy-{uuid.uuid4().hex[:6]}",
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
    )
    producer.init_transactions()
    seen, start = 0, None
    while seen < n:
        got = consumer.poll(timeout_ms=1000, max_records=batch)
        if not got:
            continue
        if start is None:
            start = time.perf_counter()
        producer.begin_transaction()
        offsets = {}
        for tp, records in got.items():
            for r in records:
                producer.send(
                    out,
                    key=r.key,
                    value=r.value,
                    headers=r.headers,
                    partition=r.partition,
                    timestamp_ms=r.timestamp,
                )
            offsets[TopicPartition(tp.topic, tp.partition)] = OffsetAndMetadata(
                records[-1].offset + 1, "", -1
            )
            seen += len(records)
        producer.send_offsets_to_transaction(offsets, consumer.group_metadata())
        producer.commit_transaction()
    assert start is not None
    elapsed = time.perf_counter() - start
    producer.close(timeout=10)
    consumer.close(autocommit=False)
    return elapsed


def guard_run(bootstrap: str, topic: str, n: int, batch: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "guard.yaml"
        config.write_text(
            json.dumps(
                {
                    "kafka": {
                        "bootstrap_servers": bootstrap,
                        "group_id": f"guard-{uuid.uuid4().hex[:6]}",
                    },
                    "schemas_dir": str(SCHEMAS),
                    "batch": {"max_records": batch, "poll_timeout_ms": 1000},
                    "topics": {topic: {"subject": "orders"}},
                }
            )
        )
        settings = load_settings(config)
        service = GuardService(
            settings, load_registry(settings.schemas_dir), lambda: KafkaPipe(settings.kafka)
        )
        summary = service.run(max_records=n)
    assert summary.stats.total == n and summary.stats.valid == n
    return summary.seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=30_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    n, batch = args.records, args.batch
    configure_logging("WARNING", "console")
    bench_validator(min(n, 20_000))
    with LocalKafka() as broker:
        topic = f"bench.{uuid.uuid4().hex[:6]}"
        avg = produce(broker.bootstrap_servers, topic, n)
        print(f"\n{n:,} valid records of ~{avg} bytes in {PARTITIONS} partitions; batch {batch}")
        consume = raw_consume(broker.bootstrap_servers, topic, n, batch)
        copy = raw_transactional_copy(broker.bootstrap_servers, topic, n, batch)
        guard = guard_run(broker.bootstrap_servers, topic, n, batch)
        print(f"raw consume (read_committed)      {rate(n, consume)}")
        print(f"raw transactional copy            {rate(n, copy)}")
        print(f"guard (validate + route, in txns) {rate(n, guard)}  (includes group join)")
        print(f"guard / raw transactional copy    {copy / guard:>10.0%}")
        print(f"guard / raw consume               {consume / guard:>10.0%}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process          {peak:>10.0f} MiB")


if __name__ == "__main__":
    main()
