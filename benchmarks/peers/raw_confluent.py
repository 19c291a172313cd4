"""Ceilings on confluent-kafka (librdkafka): a read_committed consume, and a transactional copy
(consume -> produce -> send offsets -> commit per batch), optionally flushing the producer
before sending the offsets (librdkafka then commits a transaction with nothing in flight)."""

from __future__ import annotations

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from benchmarks.peers._common import Progress, parse_args

TIMEOUT_S = 30.0


def main() -> None:
    args = parse_args(__doc__ or "", modes=("consume", "copy", "copy-flush"))
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([args.source])
    progress = Progress(args.records, args.idle)
    producer = None
    if args.mode != "consume":
        producer = Producer(
            {
                "bootstrap.servers": args.bootstrap,
                "transactional.id": f"{args.group}-tx",
                "linger.ms": 5,
            }
        )
        producer.init_transactions(TIMEOUT_S)
    while not progress.done():
        # Never ask for more than is left: consume() waits out its timeout for a short batch.
        wanted = min(args.batch, progress.target - progress.records)
        got = consumer.consume(num_messages=wanted, timeout=1.0)
        if not got:
            continue
        for msg in got:
            if msg.error():
                raise KafkaException(msg.error())
        if producer is None:
            progress.committed(len(got))
            continue
        producer.begin_transaction()
        offsets: dict[tuple[str, int], int] = {}
        for msg in got:
            while True:
                try:
                    producer.produce(
                        args.valid,
                        key=msg.key(),
                        value=msg.value(),
                        headers=msg.headers(),
                        partition=msg.partition(),
                        timestamp=msg.timestamp()[1],
                    )
                    break
                except BufferError:
                    producer.poll(0.05)
            offsets[(msg.topic(), msg.partition())] = msg.offset() + 1
        if args.mode == "copy-flush":
            producer.flush(TIMEOUT_S)
        positions = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        producer.send_offsets_to_transaction(
            positions, consumer.consumer_group_metadata(), TIMEOUT_S
        )
        producer.commit_transaction(TIMEOUT_S)
        progress.committed(len(got))
    consumer.close()
    progress.report()


if __name__ == "__main__":
    main()
