"""Record timestamps an output topic refuses (`message.timestamp.after.max.ms`, one hour by
default since Kafka 4.0): a source that allows more must not stop the guard."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaProducer

from guard.demo.samples import sample_stream
from guard.localbroker import LocalKafka
from tests.fixtures.guard_process import GuardProcess
from tests.integration.service.kafka_helpers import (
    create,
    landed_offsets,
    outputs,
    write_config,
)

pytestmark = pytest.mark.integration

DAY_MS = 86_400_000


def test_records_stamped_further_ahead_than_the_outputs_accept_are_routed_and_the_rest_flow(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    # The source takes records stamped up to 10 days ahead; the guard's outputs keep the
    # broker's default (one hour).
    create(bootstrap, source, 1, {"message.timestamp.after.max.ms": str(10 * DAY_MS)})
    samples = list(sample_stream(30, bad_share=0.3, seed=5, large_bytes=50_000))
    ahead_valid = next(i for i, s in enumerate(samples) if s.expected is None)
    ahead_invalid = next(i for i, s in enumerate(samples) if s.expected == "out_of_range")
    now = int(time.time() * 1000)
    stamps = [now - 1000 + i for i in range(len(samples))]
    stamps[ahead_valid] = stamps[ahead_invalid] = now + 2 * DAY_MS
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    futures = [
        producer.send(source, key=s.key, value=s.value, headers=s.headers, timestamp_ms=ts)
        for s, ts in zip(samples, stamps, strict=True)
    ]
    producer.flush(timeout=60)
    placed = {}
    for fut, s in zip(futures, samples, strict=True):
        meta = fut.get(timeout=30)
        placed[(meta.partition, meta.offset)] = s
    producer.close(timeout=10)

    config = write_config(tmp_path, bootstrap, source, unique("group"), kafka_client)
    total = str(len(samples))
    summary = GuardProcess(
        config, subprocess_env, "stamps", "--max-records", total, "--idle-timeout", "120"
    ).finish()  # exit 0: no batch was refused for good
    assert summary["records"] == len(samples)
    assert summary["by_reason"].get("timestamp_outside_target") == 1, summary

    valid, quarantined = outputs(bootstrap, source, kafka_client)
    landed = landed_offsets(placed, valid, quarantined)
    assert set(landed) == set(placed) and set(landed.values()) == {1}, "each input once"
    stamp_of = {s.key: ts for s, ts in zip(samples, stamps, strict=True)}
    # Valid records keep their timestamps; the one stamped ahead is not among them.
    assert samples[ahead_valid].key not in {r.key for r in valid}
    assert all(r.timestamp_ms == stamp_of[r.key] for r in valid)
    by_key = {r.key: r for r in quarantined}
    moved = by_key[samples[ahead_valid].key]
    assert moved.value == samples[ahead_valid].value, "quarantined with its bytes intact"
    assert [e["code"] for e in moved.envelope["errors"]] == ["timestamp_outside_target"]
    for i in (ahead_valid, ahead_invalid):
        copy = by_key[samples[i].key]
        # Stamped when written (the topic refuses the original); the envelope keeps it.
        assert copy.envelope["source"]["timestamp_ms"] == stamps[i]
        assert now - 1000 <= copy.timestamp_ms < now + 2 * DAY_MS
    kept = [
        r
        for r in quarantined
        if r.key not in {samples[ahead_valid].key, samples[ahead_invalid].key}
    ]
    assert kept and all(r.timestamp_ms == stamp_of[r.key] for r in kept)
