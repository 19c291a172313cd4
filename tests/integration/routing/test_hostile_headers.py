"""Hostile headers on the real broker: a header key that is not UTF-8, forged `guard.*`
headers, and null header values, through the whole service on every transport."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from guard.config.settings import GuardSettings, Route
from guard.contracts import load_registry
from guard.demo.samples import good_order
from guard.localbroker import LocalKafka
from guard.service import build_service
from guard.transport.kafka_python import records as kafka_python_records
from guard.transport.kafka_python.records import NULL_HEADER, RawHeaderKey
from guard.verify import read_topic
from tests.fixtures.paths import SCHEMAS

pytestmark = pytest.mark.integration

BAD_KEY = b"tr\xffce\xfe"  # not UTF-8: kafka-python 3.0 alone spins on it forever


def _topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        admin.close()


def _produce(bootstrap: str, topic: str, records: list[tuple[int, bytes, bytes, list]]) -> None:
    """Writes headers byte for byte: a RawHeaderKey is sent as its raw (non-UTF-8) bytes,
    a None value as a null header value (the guard's adaptation of kafka-python's record
    builder does that: installed here, or a test run first in its process sends b"")."""
    assert kafka_python_records.install()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for partition, key, value, headers in records:
            wire = [(k, NULL_HEADER if v is None else v) for k, v in headers]
            producer.send(topic, key=key, value=value, headers=wire, partition=partition)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def _settings(bootstrap: str, client: str, group: str, source: str) -> GuardSettings:
    return GuardSettings(
        kafka={"client": client, "bootstrap_servers": bootstrap, "group_id": group},
        schemas_dir=SCHEMAS,
        batch={"max_records": 50, "poll_timeout_ms": 500},
        topics={source: Route(subject="orders")},
    )


def _run(settings: GuardSettings, records: int) -> str:
    """Until `records` are processed (an event, not a quiet spell a busy machine may fake);
    the idle timeout only bounds a run that never gets them."""
    service = build_service(settings, load_registry(SCHEMAS))
    return service.run(max_records=records, idle_timeout=120).stopped_by


def test_a_header_key_that_is_not_utf8_is_quarantined_and_the_rest_flows(
    kafka: LocalKafka, unique: Callable[[str], str], kafka_client: str
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    _topic(bootstrap, source, 3)
    rng = random.Random(8)
    records = [
        (i % 3, b"k%d" % i, json.dumps(good_order(rng)).encode(), [("trace", b"t%d" % i)])
        for i in range(30)
    ]
    raw_key = RawHeaderKey(BAD_KEY.decode("utf-8", "surrogateescape"))
    bad_headers = [("trace", b"t-bad"), (raw_key, b"v"), ("n", None)]
    records.insert(10, (1, b"bad", b"not json either", bad_headers))
    _produce(bootstrap, source, records)

    settings = _settings(bootstrap, kafka_client, unique("group"), source)
    assert _run(settings, len(records)) == "max-records"

    valid = read_topic(bootstrap, f"{source}.valid", client=kafka_client)
    quarantined = read_topic(bootstrap, f"{source}.quarantine", client=kafka_client)
    assert sorted(r.key for r in valid) == sorted(b"k%d" % i for i in range(30))
    [bad] = quarantined
    assert (bad.key, bad.value, bad.partition) == (b"bad", b"not json either", 1)
    assert bad.envelope["reasons"][0] == "malformed_header"
    headers = bad.headers
    if kafka_client == "kafka-python":
        assert headers[:2] == [("trace", b"t-bad"), ("n", None)]  # what could be read, kept
        assert ("guard.malformed.header.1.key", BAD_KEY) in headers  # the raw key bytes
        assert ("guard.malformed.header.1.value", b"v") in headers
    else:  # confluent-kafka can read none of this record's headers
        assert not any(not name.startswith("guard.") for name, _ in headers)


def test_forged_guard_headers_are_renamed_and_null_header_values_stay_null(
    kafka: LocalKafka, unique: Callable[[str], str], kafka_client: str
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    _topic(bootstrap, source, 1)
    good = json.dumps(good_order(random.Random(2))).encode()
    forged = [("guard.attempt", b"99"), ("guard.null.value", b"1"), ("trace", None)]
    _produce(bootstrap, source, [(0, b"good", good, forged), (0, b"bad", b"{", forged)])

    settings = _settings(bootstrap, kafka_client, unique("group"), source)
    assert _run(settings, 2) == "max-records"

    [valid] = read_topic(bootstrap, f"{source}.valid", client=kafka_client)
    assert (valid.value, valid.headers) == (
        good,
        [("guard.untrusted.attempt", b"99"), ("guard.untrusted.null.value", b"1"), ("trace", None)],
    )
    [bad] = read_topic(bootstrap, f"{source}.quarantine", client=kafka_client)
    assert bad.envelope["attempt"] == 1 and bad.value == b"{"
    assert bad.headers[:3] == valid.headers


def test_two_version_headers_are_quarantined_as_ambiguous_with_both_kept(
    kafka: LocalKafka, unique: Callable[[str], str], kafka_client: str
) -> None:
    """`9` then `2`: judged by the last it would pass, and a reader taking the first would see
    9. Quarantined instead, both headers kept in order; one header still passes."""
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    _topic(bootstrap, source, 1)
    good = json.dumps(good_order(random.Random(3), 2)).encode()
    twice = [("schema-version", b"9"), ("schema-version", b"2")]
    once = [("schema-version", b"2")]
    _produce(bootstrap, source, [(0, b"twice", good, twice), (0, b"once", good, once)])

    settings = _settings(bootstrap, kafka_client, unique("group"), source)
    assert _run(settings, 2) == "max-records"

    [valid] = read_topic(bootstrap, f"{source}.valid", client=kafka_client)
    assert (valid.key, valid.headers) == (b"once", once)
    [bad] = read_topic(bootstrap, f"{source}.quarantine", client=kafka_client)
    assert (bad.key, bad.value) == (b"twice", good)
    assert bad.envelope["reasons"] == ["ambiguous_version"]
    assert [(n, v) for n, v in bad.headers if n == "schema-version"] == twice
