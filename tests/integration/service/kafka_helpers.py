"""Small helpers for the service's broker tests: topics, a mixed stream, a config, and the
exactly-once check by input offset (valid records by their unique key, quarantined ones by
their envelope's source coordinates)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from guard.config import KafkaSettings
from guard.config.settings import KafkaClient
from guard.demo.samples import Sample, sample_stream
from guard.transport.kafka_python.admin import ensure_topics
from guard.verify import ReadRecord, read_topic
from tests.fixtures.configs import guard_config
from tests.fixtures.configs import write_config as write_guard_config

Placed = dict[tuple[int, int], Sample]


def create(
    bootstrap: str, topic: str, partitions: int, configs: dict[str, str] | None = None
) -> None:
    ensure_topics(
        KafkaSettings(bootstrap_servers=bootstrap), {topic: partitions}, {topic: configs or {}}
    )


def produce(
    bootstrap: str, topic: str, n: int, partitions: int, seed: int = 3, start: int = 0
) -> Placed:
    """`n` mixed samples round-robin over partitions; (partition, offset) -> sample."""
    samples = list(sample_stream(start + n, bad_share=0.3, seed=seed, large_bytes=50_000))[start:]
    return produce_samples(bootstrap, topic, samples, partitions)


def produce_samples(bootstrap: str, topic: str, samples: list[Sample], partitions: int) -> Placed:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", max_request_size=16 * 1024 * 1024
    )
    futures = [
        (
            producer.send(
                topic, key=s.key, value=s.value, headers=s.headers, partition=i % partitions
            ),
            s,
        )
        for i, s in enumerate(samples)
    ]
    producer.flush(timeout=60)
    placed = {}
    for fut, s in futures:
        meta = fut.get(timeout=30)
        placed[(meta.partition, meta.offset)] = s
    producer.close(timeout=10)
    return placed


def produce_in_transactions(
    bootstrap: str, topic: str, samples: list[Sample], size: int, abort_every: int
) -> tuple[Placed, Placed]:
    """`samples` from an upstream transactional producer, `size` per transaction, every
    `abort_every`-th transaction aborted (a partition's log then holds aborted records and
    commit and abort markers, and ends with a commit marker): (committed, aborted), each
    (partition, offset) -> sample."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        transactional_id=f"{topic}-upstream",
        acks="all",
        max_request_size=16 * 1024 * 1024,
    )
    producer.init_transactions()
    committed: Placed = {}
    aborted: Placed = {}
    for n, start in enumerate(range(0, len(samples), size), start=1):
        producer.begin_transaction()
        chunk = samples[start : start + size]
        futures = [
            (producer.send(topic, key=s.key, value=s.value, headers=s.headers), s) for s in chunk
        ]
        producer.flush(timeout=60)
        into = aborted if n % abort_every == 0 else committed
        for fut, s in futures:
            meta = fut.get(timeout=30)
            into[(meta.partition, meta.offset)] = s
        if into is aborted:
            producer.abort_transaction()
        else:
            producer.commit_transaction()
    producer.close(timeout=10)
    return committed, aborted


def write_config(
    tmp_path: Path,
    bootstrap: str,
    source: str,
    group: str,
    client: str,
    kafka_extra: dict[str, Any] | None = None,
    **extra: Any,
) -> Path:
    """The service tests' config: 100 kB limit, batches of 20, debug logs; `extra` replaces
    top-level sections."""
    sections: dict[str, Any] = {
        "limits": {"max_bytes": 100_000},
        "batch": {"max_records": 20, "poll_timeout_ms": 200},
        "log": {"level": "DEBUG"},
        **extra,
    }
    kafka = {"request_timeout_ms": 15000, **(kafka_extra or {})}
    config = guard_config(bootstrap, source, group, client, kafka=kafka, **sections)
    return write_guard_config(tmp_path / "guard.yaml", config)


def outputs(bootstrap: str, source: str, client: str) -> tuple[list[ReadRecord], list[ReadRecord]]:
    kc: KafkaClient = "confluent" if client == "confluent" else "kafka-python"
    return (
        read_topic(bootstrap, f"{source}.valid", client=kc),
        read_topic(bootstrap, f"{source}.quarantine", client=kc),
    )


def landed_offsets(
    placed: Placed, valid: list[ReadRecord], quarantined: list[ReadRecord]
) -> Counter[tuple[int, int]]:
    by_key = {s.key: pos for pos, s in placed.items()}
    landed: Counter[tuple[int, int]] = Counter()
    for r in valid:
        landed[by_key[r.key]] += 1
    for r in quarantined:
        src = r.envelope["source"]
        landed[(src["partition"], src["offset"])] += 1
    return landed


def assert_each_offset_once(
    bootstrap: str,
    source: str,
    placed: Placed,
    client: str,
    gone: Collection[tuple[int, int]] = (),
) -> None:
    """Every input offset is in exactly one output, except `gone` ones (in none)."""
    landed = landed_offsets(placed, *outputs(bootstrap, source, client))
    missing = sorted(set(placed) - set(landed) - set(gone))
    assert not missing, f"every input offset appears; missing {len(missing)}: {missing[:10]}"
    assert [pos for pos, n in landed.items() if n != 1] == [], "and appears exactly once"
