"""The benchmark's input: order records of a given size and invalid share, loaded into a topic.

Valid records follow schemas/orders (v1 with a `schema-version: 1` header, v2 with or without
one). Invalid records are the mistakes real producers make: a wrong type, a missing field, a
value outside an enum, range or pattern, a malformed email/uuid/timestamp, a nested item out
of range, truncated JSON, an unknown schema version. The guard's poison cases (duplicate keys,
NaN, 2^70, deep nesting, bad UTF-8) are left to its tests: competitors built on `json.loads`
accept some of them, and the benchmark compares speed on records every contender judges alike.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from guard.demo.samples import good_order

PARTITIONS = 3


@dataclass(frozen=True)
class Dataset:
    """One input shape: record size class and invalid share."""

    size: str  # "250B" | "1KB" | "2KB"
    invalid_share: float

    @property
    def name(self) -> str:
        return f"{self.size}-{round(self.invalid_share * 100)}pct-invalid"


DATASETS = (
    Dataset("250B", 0.01),
    Dataset("250B", 0.20),
    Dataset("1KB", 0.20),
    Dataset("2KB", 0.01),
    Dataset("2KB", 0.20),
)
HEADLINE = Dataset("250B", 0.20)  # the shape of issue 9's figures; targets are judged on it
MID = Dataset("1KB", 0.20)  # issue 17's second shape (~1.1 KB records)
# Line items per order by size: ~28 B each on top of a ~250 B order.
_ITEMS = {"1KB": 30, "2KB": 65}


@dataclass(frozen=True)
class Record:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    valid: bool


Order = dict[str, Any]
Headers = list[tuple[str, bytes]]


def _enc(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _set(field: str, value: Any) -> Callable[[Order], None]:
    def mutate(order: Order) -> None:
        order[field] = value

    return mutate


def _drop(order: Order) -> None:
    del order["customer_email"]


def _bad_item(order: Order) -> None:
    order.setdefault("items", [{"sku": "SKU-1", "qty": 1}])[0]["qty"] = 0


# Contract violations, cycled in order so every share has the same mix.
MUTATIONS: tuple[tuple[str, Callable[[Order], None]], ...] = (
    ("wrong_type", _set("amount", "12.50")),
    ("missing_field", _drop),
    ("not_in_enum", _set("currency", "JPY")),
    ("pattern_mismatch", _set("coupon", "save 10%!")),
    ("out_of_range", _set("quantity", 0)),
    ("bad_email", _set("customer_email", "not-an-email")),
    ("bad_uuid", _set("order_id", "12345")),
    ("bad_timestamp", _set("created_at", "2026-11-21 09:15")),
    ("nested_out_of_range", _bad_item),
)
_RAW_KINDS = ("truncated_json", "unknown_version")
KINDS = len(MUTATIONS) + len(_RAW_KINDS)


def _shipped(order: Order, rng: random.Random) -> Order:
    """A v2 order with a shipping address: ~250 B in all."""
    order["shipping"] = {"country": rng.choice(["DE", "FR", "GB", "US"]), "postcode": "10115"}
    return order


def _padded(order: Order, rng: random.Random, items: int) -> Order:
    """A v2 order with a shipping address and a basket of `items` line items (~1.1 KB with
    30, ~2 KB with 65)."""
    _shipped(order, rng)
    order["items"] = [
        {"sku": f"SKU-{rng.randint(1000, 99999)}", "qty": rng.randint(1, 5)} for _ in range(items)
    ]
    return order


def _sized(order: Order, rng: random.Random, size: str) -> Order:
    items = _ITEMS.get(size)
    return _shipped(order, rng) if items is None else _padded(order, rng, items)


def _valid(rng: random.Random, size: str) -> tuple[Order, Headers]:
    if size in _ITEMS:
        order = _padded(good_order(rng, 2), rng, _ITEMS[size])
        return order, ([("schema-version", b"2")] if rng.random() < 0.5 else [])
    version = rng.choice([1, 2, 2, 2])
    order = good_order(rng, version)
    if version == 2:
        _shipped(order, rng)
    if version == 1 or rng.random() < 0.5:
        return order, [("schema-version", str(version).encode())]
    return order, []


def _invalid(rng: random.Random, size: str, nth: int) -> tuple[bytes, Headers]:
    order = _sized(good_order(rng, 2), rng, size)
    kind = nth % KINDS
    if kind < len(MUTATIONS):
        MUTATIONS[kind][1](order)
        return _enc(order), []
    if kind == len(MUTATIONS):  # truncated_json
        value = _enc(order)
        return value[: len(value) // 2], []
    return _enc(order), [("schema-version", b"v9")]  # unknown_version


def records(dataset: Dataset, n: int, seed: int = 11) -> Iterator[Record]:
    """`n` records with unique keys; exactly round(n * invalid_share) of them invalid,
    spread evenly through the stream."""
    rng = random.Random(seed)
    bad_total = round(n * dataset.invalid_share)
    bad = 0
    for i in range(n):
        key = f"order-{i:08d}".encode()
        if bad < bad_total and (i + 1) * bad_total >= (bad + 1) * n:
            value, headers = _invalid(rng, dataset.size, bad)
            bad += 1
            yield Record(key, value, headers, valid=False)
        else:
            order, headers = _valid(rng, dataset.size)
            yield Record(key, _enc(order), headers, valid=True)


@dataclass(frozen=True)
class Loaded:
    records: int
    valid: int
    mean_bytes: int


def load(bootstrap: str, topic: str, stream: Iterable[Record]) -> Loaded:
    """Write the records round-robin over the topic's partitions and wait for every ack."""
    from confluent_kafka import Producer

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "log_level": 4,  # librdkafka info lines are noise in the table
            "acks": "all",
            "linger.ms": 20,
            "batch.size": 512 * 1024,
            "enable.idempotence": True,
            # With more than one request in flight, librdkafka can report records delivered
            # that a fresh partition never took (docs/reliability.md, "Records reported
            # delivered but never written"): the input would come up short.
            "max.in.flight.requests.per.connection": 1,
        }
    )
    failures: list[str] = []

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            failures.append(str(err))

    n = valid = size = 0
    for i, rec in enumerate(stream):
        n, valid, size = n + 1, valid + rec.valid, size + len(rec.value)
        while True:
            try:
                producer.produce(
                    topic,
                    key=rec.key,
                    value=rec.value,
                    headers=rec.headers,
                    partition=i % PARTITIONS,
                    on_delivery=on_delivery,
                )
                break
            except BufferError:  # local queue full: let deliveries drain
                producer.poll(0.1)
        producer.poll(0)
    left = producer.flush(120)
    if left or failures:
        raise RuntimeError(f"loading {topic}: {left} undelivered, errors: {failures[:3]}")
    return Loaded(n, valid, size // max(n, 1))
