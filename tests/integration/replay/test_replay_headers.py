"""Replay on the real broker, on every transport: a clean copy carries its record's original
headers exactly, and a record whose original headers are not all in its quarantine copy is
never released."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from guard.cli.replay import build_classifier
from guard.config.settings import GuardSettings
from guard.contracts import load_registry
from guard.demo.samples import good_order
from guard.localbroker import LocalKafka
from guard.quarantine.filters import RecordFilter
from guard.quarantine.sources import TopicSource
from guard.replay import ReplayOptions, ReplayReport, TopicSink, replay_source
from guard.service import build_service
from guard.transport.kafka_python import records as kafka_python_records
from guard.transport.kafka_python.records import NULL_HEADER, RawHeaderKey
from guard.verify import read_topic
from tests.fixtures.paths import SCHEMAS

pytestmark = pytest.mark.integration

Headers = list[tuple[str, bytes | None]]


def _produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes, Headers]]) -> None:
    """Into partition 0, headers byte for byte (a RawHeaderKey as its raw bytes, None as a
    null value: the guard's adaptation of kafka-python's record builder)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        admin.close()
    assert kafka_python_records.install()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for key, value, headers in records:
            wire = [(k, NULL_HEADER if v is None else v) for k, v in headers]
            producer.send(topic, key=key, value=value, headers=wire, partition=0)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def _chf(rng: random.Random) -> bytes:
    """An order only contract v2 accepts (CHF is not in v1's currency enum)."""
    order = good_order(rng, version=1)
    order["currency"] = "CHF"
    return json.dumps(order).encode()


def _settings(
    bootstrap: str, client: str, group: str, source: str, **extra: Any
) -> Callable[[Any], GuardSettings]:
    """The guard's settings, given the route's accepted versions."""

    def make(accepted: Any) -> GuardSettings:
        return GuardSettings(
            kafka={"client": client, "bootstrap_servers": bootstrap, "group_id": group},  # type: ignore[arg-type]
            schemas_dir=SCHEMAS,
            batch={"max_records": 50, "poll_timeout_ms": 500},  # type: ignore[arg-type]
            topics={source: {"subject": "orders", "accepted_versions": accepted}},  # type: ignore[arg-type]
            **extra,
        )

    return make


def _quarantine_then_replay(
    settings: Callable[[Any], GuardSettings], source: str, records: int
) -> ReplayReport:
    """Run the guard with contract v1 only until it has `records` (each is quarantined), then
    replay its quarantine against the latest contract, v2. `settings(accepted_versions)`."""
    service = build_service(settings([1]), load_registry(SCHEMAS))
    assert service.run(max_records=records, idle_timeout=120).stopped_by == "max-records"
    quarantine, replaying = f"{source}.quarantine", settings("latest")
    source_reader = TopicSource(replaying.kafka, quarantine)
    registry = load_registry(SCHEMAS)
    classifier = build_classifier(replaying, registry, source_reader.handled(), RecordFilter())

    def make_sink() -> TopicSink:
        return TopicSink(replaying, quarantine, "r1", "2026-12-08T10:00:00Z", False)

    return replay_source(
        source_reader, classifier, make_sink, ReplayOptions("r1", assume_yes=True), "clean"
    )


def test_a_record_quarantined_for_a_non_utf8_header_key_is_never_replayed(
    kafka: LocalKafka, unique: Callable[[str], str], kafka_client: str
) -> None:
    """Its copy lacks that header (confluent-kafka: all its headers); it would pass v2, but it
    is skipped as `malformed_header`, written nowhere; the record beside it is replayed."""
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    rng = random.Random(11)
    bad_key = RawHeaderKey(b"tr\xffce".decode("utf-8", "surrogateescape"))
    _produce(
        bootstrap,
        source,
        [
            (b"bad", _chf(rng), [("trace", b"x"), (bad_key, b"v"), ("after", b"y")]),
            (b"good", _chf(rng), [("trace", b"t")]),
        ],
    )
    settings = _settings(bootstrap, kafka_client, unique("group"), source)
    report = _quarantine_then_replay(settings, source, 2)

    assert (report.passed, report.still_failing) == (1, 0)
    assert report.to_json()["skipped"] == {"malformed_header": 1}
    clean = read_topic(bootstrap, f"{source}.valid", client=kafka_client)
    assert [r.key for r in clean] == [b"good"]
    quarantine = read_topic(bootstrap, f"{source}.quarantine", client=kafka_client)
    assert [r.key for r in quarantine] == [b"bad", b"good"], "nothing requeued"


@pytest.mark.parametrize("style", ["connect", "both"])
def test_clean_copies_carry_exactly_the_original_headers_under_connect_header_styles(
    kafka: LocalKafka, unique: Callable[[str], str], kafka_client: str, style: str
) -> None:
    """The guard's own `__connect.errors.*` envelope stays in the quarantine; the clean copy has
    the record's headers (names, order, repeats, empty and null values, a Connect DLQ's own
    `__connect.errors.*`), the version header replay sets, and the guard's lineage, as under
    the default style."""
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    rng = random.Random(12)
    mine: Headers = [
        ("trace", b"t"),
        ("n", None),
        ("dup", b"1"),
        ("dup", b"2"),
        ("e", b""),
        ("bin", b"\xff\x00"),
    ]
    # k1 comes from an upstream Connect dead-letter queue: its own Connect headers are data.
    dlq: Headers = [("__connect.errors.topic", b"upstream"), ("x", b"1")]
    _produce(bootstrap, source, [(b"k0", _chf(rng), mine), (b"k1", _chf(rng), dlq)])
    settings = _settings(
        bootstrap, kafka_client, unique("group"), source, quarantine={"header_style": style}
    )
    report = _quarantine_then_replay(settings, source, 2)

    assert report.passed == 2
    quarantine = read_topic(bootstrap, f"{source}.quarantine", client=kafka_client)
    assert all(any(k.startswith("__connect.errors.") for k, _ in q.headers) for q in quarantine)
    clean = {
        r.key: r.headers for r in read_topic(bootstrap, f"{source}.valid", client=kafka_client)
    }
    for key, expected in ((b"k0", mine), (b"k1", dlq)):
        own = [(k, v) for k, v in clean[key] if not k.startswith("guard.")]
        assert own == [*expected, ("schema-version", b"2")], "the version that accepted it"
