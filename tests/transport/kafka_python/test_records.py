"""The kafka-python record adaptations, on record batches built and parsed in memory."""

from __future__ import annotations

import pytest
from kafka.consumer.fetcher import ConsumerRecord
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder

from guard.config.settings import KafkaSettings
from guard.errors import TransientTransportError
from guard.quarantine.envelope import H_NULL_VALUE
from guard.transport.kafka_python.consumer import committed_consumer
from guard.transport.kafka_python.records import (
    NULL_HEADER,
    NULL_VALUE_MARKER,
    RawHeaderKey,
    header_key_bytes,
    in_record,
    install,
)


@pytest.fixture(autouse=True)
def _adapted() -> None:
    install()  # what the transport does when it makes its first client


def _roundtrip(headers: list) -> list:
    builder = DefaultRecordBatchBuilder(2, 0, False, -1, -1, -1, 1_000_000)
    builder.append(0, 1_700_000_000_000, b"k", b"v", headers)
    batch = DefaultRecordBatch(bytes(builder.build()))
    [record] = list(batch)
    return list(record.headers)


def test_adaptation_is_installed_for_the_pinned_kafka_python() -> None:
    assert install()


def test_opening_a_client_installs_the_adaptation(monkeypatch: pytest.MonkeyPatch) -> None:
    # Undo this test's install afterwards: the class attributes go back as they were.
    monkeypatch.setattr(DefaultRecordBatch, "_read_msg", DefaultRecordBatch._read_msg)
    monkeypatch.setattr(DefaultRecordBatchBuilder, "append", DefaultRecordBatchBuilder.append)
    monkeypatch.setattr(DefaultRecordBatch, "_guard_adapted", False)
    settings = KafkaSettings(bootstrap_servers="127.0.0.1:1", request_timeout_ms=1000)
    with pytest.raises(TransientTransportError):  # no broker there; the client was attempted
        committed_consumer(settings)
    assert DefaultRecordBatch._guard_adapted is True


def test_a_header_key_that_is_not_utf8_is_read_with_its_raw_bytes() -> None:
    raw = RawHeaderKey(b"\xff\xfekey".decode("utf-8", "surrogateescape"))
    [(key, value), good] = _roundtrip([(raw, b"v"), ("ok", b"1")])
    assert type(key) is RawHeaderKey and header_key_bytes(key) == b"\xff\xfekey"
    assert (value, good) == (b"v", ("ok", b"1"))


def test_null_header_marker_is_written_as_a_null_value() -> None:
    assert _roundtrip([("a", NULL_HEADER), ("b", b"")]) == [("a", None), ("b", b"")]


def _consumer_record(headers: list) -> ConsumerRecord:
    return ConsumerRecord("t", 0, -1, 5, 1, 0, b"k", b"v", headers, None, 1, 1, 1)


def test_in_record_marks_a_record_with_an_unreadable_header_key() -> None:
    rec = in_record(_consumer_record([("ok", b"1"), (RawHeaderKey("\udcff"), b"2")]))
    assert rec.header_error == "header key is not valid UTF-8 (header 1)"


def test_in_record_leaves_ordinary_records_unmarked() -> None:
    assert in_record(_consumer_record([("ok", None)])).header_error is None


def test_null_value_marker_is_the_envelope_header() -> None:
    assert NULL_VALUE_MARKER == H_NULL_VALUE


def test_another_kafka_python_version_is_left_unpatched(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import kafka

    from guard.transport.kafka_python import records as kafka_records

    monkeypatch.setattr(kafka, "__version__", "3.1.0")
    assert kafka_records.install() is False
