"""Read a topic to its end with read_committed: what downstream consumers actually see.

Used by the demo and the integration tests to prove where every record went.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from guard.quarantine.envelope import read_envelope


@dataclass(frozen=True)
class ReadRecord:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    timestamp_ms: int

    @property
    def envelope(self) -> dict[str, Any]:
        return read_envelope(self.headers)


def read_topic(bootstrap: str, topic: str, timeout_s: float = 60.0) -> list[ReadRecord]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=30_000,
        max_partition_fetch_bytes=32 * 1024 * 1024,
    )
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        if not tps:
            return []
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        # With read_committed, end_offsets is the last stable offset: everything committed.
        end = consumer.end_offsets(tps, timeout_ms=30_000)
        out: list[ReadRecord] = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp, timeout_ms=30_000) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} did not reach its end in {timeout_s}s")
            for records in consumer.poll(timeout_ms=500).values():
                out.extend(
                    ReadRecord(r.partition, r.offset, r.key, r.value, list(r.headers), r.timestamp)
                    for r in records
                )
        return out
    finally:
        consumer.close(autocommit=False)
