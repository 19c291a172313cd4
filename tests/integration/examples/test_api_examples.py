"""The worked examples of the Python API run against the real broker: a plain confluent-kafka
consumer loop and a Quix Streams exactly-once app, each giving every record one verdict."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import pytest
from confluent_kafka import Producer

from guard.localbroker import LocalKafka
from guard.verify import read_topic
from tests.fixtures.paths import REPO, SCHEMAS

pytestmark = pytest.mark.integration
sys.path.insert(0, str(REPO / "examples" / "api"))

GOOD = {
    "order_id": "c2b9546e-0f02-40f3-adb7-f1d5cbf15150",
    "customer_email": "a@example.com",
    "amount": 10.5,
    "currency": "EUR",
    "quantity": 1,
    "created_at": "2026-11-13T05:15:00Z",
}


def _load(bootstrap: str, topic: str, n: int) -> dict[bytes, bool]:
    """n records, every third invalid; returns key -> expected validity."""
    producer = Producer({"bootstrap.servers": bootstrap})
    expected = {}
    for i in range(n):
        ok = i % 3 != 0
        value = json.dumps(GOOD if ok else {**GOOD, "quantity": 0}).encode()
        producer.produce(topic, value, b"k%d" % i)
        expected[b"k%d" % i] = ok
    assert producer.flush(30) == 0
    return expected


def _landed(bootstrap: str, topic: str) -> dict[bytes | None, list[str]]:
    out: dict[bytes | None, list[str]] = {}
    for r in read_topic(bootstrap, f"{topic}.valid"):
        out.setdefault(r.key, []).append("valid")
    for r in read_topic(bootstrap, f"{topic}.dlq"):
        assert r.envelope["reasons"] == ["out_of_range"]
        out.setdefault(r.key, []).append("dlq")
    return out


def test_the_confluent_consumer_example_routes_every_record_once(
    kafka: LocalKafka, unique: Callable[[str], str]
) -> None:
    import confluent_consumer

    topic = unique("orders")
    expected = _load(kafka.bootstrap_servers, topic, 60)
    counts = confluent_consumer.run(
        kafka.bootstrap_servers, topic, unique("group"), str(SCHEMAS), max_records=60
    )
    assert counts == {"valid": 40, "invalid": 20}
    landed = _landed(kafka.bootstrap_servers, topic)
    assert landed == {k: ["valid" if ok else "dlq"] for k, ok in expected.items()}


def test_the_quix_streams_example_routes_every_record_once(
    kafka: LocalKafka,
    unique: Callable[[str], str],
    tmp_path: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import quix_app

    monkeypatch.chdir(str(tmp_path))  # Quix keeps local state in ./state
    topic = unique("orders")
    expected = _load(kafka.bootstrap_servers, topic, 60)
    app = quix_app.build(kafka.bootstrap_servers, topic, unique("group"), str(SCHEMAS))
    app.run(count=60, timeout=60)
    landed = _landed(kafka.bootstrap_servers, topic)
    assert landed == {k: ["valid" if ok else "dlq"] for k, ok in expected.items()}
