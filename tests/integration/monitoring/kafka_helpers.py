"""Helpers for monitoring tests on the real broker: topics and producing."""

from __future__ import annotations

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
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
    """Round-robin over partitions, with record timestamps t0 + i * step (a steady rate).
    Raises unless every record was written: flush waits for each send to end, not to succeed."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    try:
        futures = [
            producer.send(
                topic,
                key=str(i).encode(),
                value=value,
                partition=i % partitions,
                timestamp_ms=t0_ms + i * step_ms,
            )
            for i, value in enumerate(values)
        ]
        producer.flush(timeout=60)
        for future in futures:
            future.get(timeout=30)
    finally:
        producer.close(timeout=10)


def group_position(bootstrap: str, group: str, topic: str) -> str:
    """The group's committed offsets against the topic's end offsets, for a failure message."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        committed = {tp.partition: consumer.committed(tp) for tp in tps}
        ends = {tp.partition: o for tp, o in consumer.end_offsets(tps).items()}
        return f"committed {committed}, end offsets {ends}"
    finally:
        consumer.close(autocommit=False)
