"""ingest-guard's contracts inside a plain confluent-kafka consumer loop.

Valid records go to `<source>.valid`, invalid ones to `<source>.dlq` with the guard's
envelope (or Kafka Connect's header names), at least once: offsets are committed after the
outputs are flushed. Run: python examples/api/confluent_consumer.py BOOTSTRAP SOURCE
"""

from __future__ import annotations

import sys
import time

from confluent_kafka import Consumer, Producer

from guard.api import HeaderStyle, load_contracts


def run(
    bootstrap: str,
    source: str,
    group: str,
    schemas_dir: str = "schemas",
    max_records: int | None = None,
    idle_s: float = 10.0,
    style: HeaderStyle = "guard",
) -> dict[str, int]:
    orders = load_contracts(schemas_dir).validator("orders")
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    counts = {"valid": 0, "invalid": 0}
    consumer.subscribe([source])
    last = time.monotonic()
    try:
        while max_records is None or sum(counts.values()) < max_records:
            batch = consumer.consume(num_messages=500, timeout=0.5)
            if not batch:
                if time.monotonic() - last > idle_s:
                    break
                continue
            last = time.monotonic()
            for msg in batch:
                if msg.error():
                    continue
                headers = msg.headers() or []
                version = next((v for k, v in headers if k == "schema-version"), None)
                verdict = orders.validate(msg.value(), version_header=version)
                if verdict.ok:
                    producer.produce(f"{source}.valid", msg.value(), msg.key(), headers=headers)
                    counts["valid"] += 1
                else:
                    envelope = orders.quarantine_headers(
                        verdict,
                        topic=msg.topic(),
                        partition=msg.partition(),
                        offset=msg.offset(),
                        timestamp_ms=msg.timestamp()[1],
                        headers=headers,
                        style=style,
                    )
                    producer.produce(f"{source}.dlq", msg.value(), msg.key(), headers=envelope)
                    counts["invalid"] += 1
            if producer.flush(30) != 0:
                raise RuntimeError("outputs not delivered; offsets not committed")
            consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return counts


if __name__ == "__main__":
    print(run(sys.argv[1], sys.argv[2], "guard-example"))
