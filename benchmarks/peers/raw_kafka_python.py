"""Ceilings on kafka-python: a read_committed consume that does nothing with the records, and a
transactional copy (consume -> produce -> send offsets -> commit per batch) with no checks,
the guard's pipeline shape minus validation."""

from __future__ import annotations

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from benchmarks.peers._common import Progress, parse_args


def main() -> None:
    args = parse_args(__doc__ or "", modes=("consume", "copy"))
    consumer = KafkaConsumer(
        args.source,
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=args.batch,
    )
    progress = Progress(args.records, args.idle)
    producer = None
    if args.mode == "copy":
        producer = KafkaProducer(
            bootstrap_servers=args.bootstrap,
            transactional_id=f"{args.group}-tx",
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
        )
        producer.init_transactions()
    while not progress.done():
        got = consumer.poll(timeout_ms=1000, max_records=args.batch)
        if not got:
            continue
        if producer is None:
            progress.committed(sum(len(v) for v in got.values()))
            continue
        producer.begin_transaction()
        offsets = {}
        for tp, batch in got.items():
            for r in batch:
                producer.send(
                    args.valid,
                    key=r.key,
                    value=r.value,
                    headers=r.headers,
                    partition=r.partition,
                    timestamp_ms=r.timestamp,
                )
            offsets[TopicPartition(tp.topic, tp.partition)] = OffsetAndMetadata(
                batch[-1].offset + 1, "", -1
            )
        producer.send_offsets_to_transaction(offsets, consumer.group_metadata())
        producer.commit_transaction()
        progress.committed(sum(len(v) for v in got.values()))
    if producer is not None:
        producer.close(timeout=10)
    consumer.close(autocommit=False)
    progress.report()


if __name__ == "__main__":
    main()
