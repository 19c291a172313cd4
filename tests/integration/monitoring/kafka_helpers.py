"""Helpers for monitoring tests on the real broker: topics and producing."""

from __future__ import annotations

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    try:
        admin.create_topics(
            {topic: {"num_partitions": partitions, "replication_factor": 1}},
            timeout_ms=30_000,
            wait_for_metadata=True,
        )
    finally:
        admin.close()


def produce(
    bootstrap: str, topic: str, values: list[bytes], partitions: int, t0_ms: int, step_ms: int = 10
) -> None:
    """Round-robin over partitions, with record timestamps t0 + i * step (a steady rate)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    try:
        for i, value in enumerate(values):
            producer.send(
                topic,
                key=str(i).encode(),
                value=value,
                partition=i % partitions,
                timestamp_ms=t0_ms + i * step_ms,
            )
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=10)
