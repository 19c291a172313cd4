"""Read a contender's output topics back with read_committed and count what is there."""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, TopicPartition

from benchmarks.dataset import PARTITIONS


@dataclass(frozen=True)
class Count:
    records: int
    distinct_keys: int


def read_back(bootstrap: str, topics: list[str], timeout: float = 120.0) -> dict[str, Count]:
    """Every committed record of `topics`, to the end of each partition (the last stable
    offset: an open transaction would hold it back, and that shows as missing records)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "log_level": 4,  # librdkafka info lines are noise in the table
            "group.id": "bench-verify",
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(t, p, 0) for t in topics for p in range(PARTITIONS)])
    pending = {(t, p) for t in topics for p in range(PARTITIONS)}
    keys: dict[str, set[bytes | None]] = {t: set() for t in topics}
    counts = dict.fromkeys(topics, 0)
    deadline = time.monotonic() + timeout
    try:
        while pending and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=10_000, timeout=1.0):
                err = msg.error()
                if err is not None and err.code() == KafkaError._PARTITION_EOF:
                    pending.discard((msg.topic(), msg.partition()))
                elif err is not None:
                    if err.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                        raise RuntimeError(f"reading back {msg.topic()}: {err}")
                else:
                    counts[msg.topic()] += 1
                    keys[msg.topic()].add(msg.key())
    finally:
        consumer.close()
    if pending:
        raise RuntimeError(f"read-back did not reach the end of {sorted(pending)}")
    return {t: Count(counts[t], len(keys[t])) for t in topics}
