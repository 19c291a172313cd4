"""How long does one small transaction take, back to back, on each client?

The loop the guard runs per batch, without the guard: begin, send N records over the
target's partitions, flush, send offsets, commit; repeated. Each contender runs in a child
process of its own (kafka-python's fix is a class patch, installed for the process), rounds
interleaved. Contenders: kafka-python as shipped; kafka-python with the guard's
`transport/kafka_python/txn_backoff.py` installed (a retried transactional request waits its
own backoff, 20 ms after CONCURRENT_TRANSACTIONS, not the sender's 100 ms); confluent-kafka.
Prints the median and p90 of each step in ms. Asserts nothing.

Usage: python -m benchmarks.transactions [--bootstrap HOST:PORT[,...]] [--brokers 1|3]
       [--transactions N] [--records-per-transaction R] [--rounds K]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

STEPS = ("send", "flush", "offsets", "commit", "total")
CONTENDERS = ("kafka-python", "kafka-python + txn_backoff", "confluent")
PARTITIONS = 3
VALUE = b"x" * 250
WARM_UP = 5  # transactions left out of the figures (connections, coordinator lookups)


@contextmanager
def _cluster(bootstrap: str | None, brokers: int) -> Iterator[str]:
    if bootstrap:
        yield bootstrap
        return
    from guard.localbroker import LocalKafka, LocalKafkaCluster

    local = LocalKafka(jvm="steady") if brokers == 1 else LocalKafkaCluster(brokers)
    with local:
        yield local.bootstrap_servers


def _create_topics(bootstrap: str, names: list[str], replication: int) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    new = [NewTopic(n, num_partitions=PARTITIONS, replication_factor=replication) for n in names]
    for future in admin.create_topics(new, operation_timeout=30).values():
        future.result(30)


def _loop(
    transactions: int,
    records: int,
    begin: Callable[[], None],
    send: Callable[[int], None],
    flush: Callable[[], None],
    offsets: Callable[[int], None],
    commit: Callable[[], None],
) -> dict[str, list[float]]:
    took: dict[str, list[float]] = {step: [] for step in STEPS}
    for n in range(transactions + WARM_UP):
        t0 = time.perf_counter()
        begin()
        for i in range(records):
            send(i % PARTITIONS)
        t1 = time.perf_counter()
        flush()
        t2 = time.perf_counter()
        offsets(n * records)
        t3 = time.perf_counter()
        commit()
        t4 = time.perf_counter()
        if n >= WARM_UP:
            spans = (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0)
            for step, seconds in zip(STEPS, spans, strict=True):
                took[step].append(seconds * 1000)
    return took


def _kafka_python(bootstrap: str, target: str, source: str, args: Any, fixed: bool) -> Any:
    from kafka import KafkaProducer
    from kafka.structs import OffsetAndMetadata, TopicPartition

    if fixed:
        from guard.transport.kafka_python import txn_backoff

        if not txn_backoff.install():
            raise SystemExit("txn_backoff does not apply to this kafka-python")
    producer = KafkaProducer(
        bootstrap_servers=bootstrap.split(","),
        transactional_id=f"bench-tx-{uuid.uuid4().hex[:8]}",
        acks="all",
        linger_ms=5,
    )
    producer.init_transactions()
    group = f"bench-tx-{uuid.uuid4().hex[:8]}"
    try:
        return _loop(
            args.transactions,
            args.records_per_transaction,
            producer.begin_transaction,
            lambda p: producer.send(target, value=VALUE, partition=p),
            producer.flush,
            lambda at: producer.send_offsets_to_transaction(
                {TopicPartition(source, p): OffsetAndMetadata(at, "", -1) for p in range(3)},
                group,
            ),
            producer.commit_transaction,
        )
    finally:
        producer.close(timeout=5)


def _confluent(bootstrap: str, target: str, source: str, args: Any) -> Any:
    from confluent_kafka import Consumer, Producer, TopicPartition

    group = f"bench-tx-{uuid.uuid4().hex[:8]}"
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "log_level": 3})
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": f"bench-tx-{uuid.uuid4().hex[:8]}",
            "linger.ms": 5,
            "log_level": 3,
        }
    )
    producer.init_transactions(30)
    try:
        return _loop(
            args.transactions,
            args.records_per_transaction,
            producer.begin_transaction,
            lambda p: producer.produce(target, VALUE, partition=p),
            lambda: producer.flush(30),
            lambda at: producer.send_offsets_to_transaction(
                [TopicPartition(source, p, at) for p in range(3)],
                consumer.consumer_group_metadata(),
                30,
            ),
            lambda: producer.commit_transaction(30),
        )
    finally:
        consumer.close()


def _child(args: Any) -> None:
    target, source = args.topics.split(",")
    if args.one == "confluent":
        took = _confluent(args.bootstrap, target, source, args)
    else:
        took = _kafka_python(args.bootstrap, target, source, args, args.one != "kafka-python")
    print(json.dumps(took))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap", help="an existing broker or cluster; default: start one")
    parser.add_argument("--brokers", type=int, default=3, choices=(1, 3), help="also the RF")
    parser.add_argument("--transactions", type=int, default=60)
    parser.add_argument("--records-per-transaction", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--one", choices=CONTENDERS, help=argparse.SUPPRESS)  # a child's part
    parser.add_argument("--topics", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _child(args)
        return
    with _cluster(args.bootstrap, args.brokers) as bootstrap:
        replication = args.brokers  # with --bootstrap: say how many brokers it has
        took: dict[str, dict[str, list[float]]] = {c: {s: [] for s in STEPS} for c in CONTENDERS}
        for _ in range(args.rounds):  # interleaved: load drift hits every contender alike
            for contender in CONTENDERS:
                run_id = uuid.uuid4().hex[:6]
                names = [f"bench-tx.{run_id}.out", f"bench-tx.{run_id}.in"]
                _create_topics(bootstrap, names, replication)
                out = subprocess.run(
                    [sys.executable, "-m", "benchmarks.transactions", "--one", contender,
                     "--bootstrap", bootstrap, "--topics", ",".join(names),
                     "--transactions", str(args.transactions),
                     "--records-per-transaction", str(args.records_per_transaction)],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
                for step, values in json.loads(out.stdout.splitlines()[-1]).items():
                    took[contender][step].extend(values)
        print(f"{args.brokers} broker(s), replication {replication}, {args.transactions} "
              f"transactions of {args.records_per_transaction} ~250 B records x {args.rounds} "
              f"rounds; ms per step, median (p90)")  # fmt: skip
        print(f"  {'contender':28s}" + "".join(f"{s:>16s}" for s in STEPS))
        for contender, steps in took.items():
            cells = "".join(
                f"{statistics.median(v):9.1f} ({sorted(v)[int(len(v) * 0.9)]:5.0f})"
                for v in steps.values()
            )
            print(f"  {contender:28s}{cells}")


if __name__ == "__main__":
    main()
