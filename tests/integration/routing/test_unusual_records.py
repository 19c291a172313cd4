"""Records Kafka allows but kafka-python cannot produce reach an output, never crash the guard.

Java clients can write a header whose value is null, and a record whose key and value are both
null. kafka-python's `send()` refuses both, so this test's producer appends below its checks
(the record accumulator), as another client would write them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaProducer, TopicPartition
from kafka.producer.future import FutureRecordMetadata
from kafka.producer.producer_batch import ProducerBatch

from guard.config import load_settings
from guard.contracts import load_registry
from guard.demo.samples import good_order
from guard.localbroker import LocalKafka
from guard.quarantine.envelope import H_NULL_VALUE
from guard.service import build_service
from guard.verify import read_topic
from tests.fixtures.configs import guard_config, write_config
from tests.fixtures.paths import SCHEMAS

pytestmark = pytest.mark.integration


def _null_tolerant_try_append(self, timestamp_ms, key, value, headers, now=None):  # type: ignore[no-untyped-def]
    """kafka-python's ProducerBatch.try_append, counting a null header value as 0 bytes."""
    metadata = self.records.append(timestamp_ms, key, value, headers)
    if metadata is None:
        return None
    self.max_record_size = max(self.max_record_size, metadata.size)
    self.last_append = time.monotonic() if now is None else now
    future = FutureRecordMetadata(
        self.produce_future,
        metadata.offset,
        metadata.timestamp,
        metadata.crc,
        len(key) if key is not None else -1,
        len(value) if value is not None else -1,
        sum(len(k.encode()) + len(v or b"") for k, v in headers) if headers else -1,
    )
    self._record_futures.append(future)
    return future


def _append_raw(
    bootstrap: str,
    topic: str,
    records: list[tuple[bytes | None, bytes | None, list]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ProducerBatch, "try_append", _null_tolerant_try_append)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    producer.partitions_for(topic)  # metadata, so the sender knows the leader
    futures = []
    for key, value, headers in records:
        future, *_ = producer._accumulator.append(
            TopicPartition(topic, 0), int(time.time() * 1000), key, value, headers
        )
        futures.append(future)
    producer._sender.wakeup()
    producer.flush(timeout=30)
    for future in futures:
        future.get(timeout=30)
    producer.close(timeout=10)


@pytest.mark.parametrize("tombstones", ["quarantine", "forward"])
def test_null_header_values_and_keyless_tombstones_are_routed_not_fatal(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    tombstones: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    good = json.dumps(good_order(__import__("random").Random(3))).encode()
    _append_raw(
        bootstrap,
        source,
        [
            (b"k1", good, [("trace", None), ("schema-version", b"2")]),  # valid, one null header
            (None, None, [("why", None)]),  # a tombstone without a key
            (b"k3", None, []),  # an ordinary tombstone
            (b"k4", good, []),  # and the stream goes on
        ],
        monkeypatch,
    )
    monkeypatch.undo()  # the guard itself runs on unpatched kafka-python
    config = write_config(
        tmp_path / "guard.yaml",
        guard_config(bootstrap, source, unique("group"), kafka_client, tombstones=tombstones),
    )
    settings = load_settings(config)
    build_service(settings, load_registry(SCHEMAS)).run(max_records=4)

    valid = {r.key: r for r in read_topic(bootstrap, f"{source}.valid", client=kafka_client)}
    quarantined = read_topic(bootstrap, f"{source}.quarantine", client=kafka_client)
    assert valid[b"k1"].headers == [("trace", None), ("schema-version", b"2")]  # null stays null
    assert b"k4" in valid
    keyless = next(r for r in quarantined if r.key is None)
    assert keyless.envelope["reasons"] == ["null_value"]
    if kafka_client == "kafka-python":  # its producer cannot send null key and value together
        assert dict(keyless.headers)[H_NULL_VALUE] == b"1" and keyless.value == b""
    else:
        assert keyless.value is None and H_NULL_VALUE not in dict(keyless.headers)
    if tombstones == "forward":
        assert valid[b"k3"].value is None  # a keyed tombstone passes through unchanged
    else:
        assert [r.envelope["reasons"] for r in quarantined if r.key == b"k3"] == [["null_value"]]
