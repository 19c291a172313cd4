"""The quarantine envelope: guard.* headers on a quarantined record, and reading them back."""

from __future__ import annotations

import json
import re

import pytest

from guard._version import __version__
from guard.quarantine.envelope import (
    H_ATTEMPT,
    H_ERRORS,
    H_ERRORS_TOTAL,
    MAX_ERRORS,
    Envelope,
    Source,
    now_iso,
    previous_attempts,
    quarantine_headers,
    read_envelope,
)
from guard.validation import FieldError, Reason

ERRORS = (
    FieldError("amount", Reason.WRONG_TYPE, "Input should be a valid number", 2),
    FieldError("currency", Reason.NOT_IN_ENUM, "value is not one of: 'EUR'", 2),
    FieldError("amount", Reason.WRONG_TYPE, "again", 1),
)


def _envelope(
    errors: tuple[FieldError, ...] = ERRORS, attempt: int = 1, source: Source | None = None
) -> Envelope:
    return Envelope(
        source=source or Source(topic="orders", partition=3, offset=42, timestamp_ms=1700000000000),
        subject="orders",
        versions_tried=(2, 1),
        errors=errors,
        attempt=attempt,
        quarantined_at="2026-11-03T10:15:00.000Z",
    )


def test_every_envelope_header_has_the_guard_prefix() -> None:
    assert all(name.startswith("guard.") for name, _ in _envelope().headers())


def test_envelope_headers_are_bytes_in_a_fixed_order() -> None:
    headers = _envelope().headers()
    assert [name for name, _ in headers] == [
        "guard.envelope",
        "guard.source.topic",
        "guard.source.partition",
        "guard.source.offset",
        "guard.source.timestamp",
        "guard.subject",
        "guard.versions.tried",
        "guard.reasons",
        "guard.errors",
        "guard.errors.total",
        "guard.validator.version",
        "guard.quarantined.at",
        "guard.attempt",
    ]
    assert all(isinstance(value, bytes) for _, value in headers)


def test_envelope_header_values() -> None:
    h = dict(_envelope().headers())
    assert h["guard.envelope"] == b"1"
    assert h["guard.source.topic"] == b"orders"
    assert h["guard.source.partition"] == b"3"
    assert h["guard.source.offset"] == b"42"
    assert h["guard.source.timestamp"] == b"1700000000000"
    assert h["guard.subject"] == b"orders"
    assert h["guard.versions.tried"] == b"2,1"
    assert h["guard.reasons"] == b"wrong_type,not_in_enum"
    assert h["guard.errors.total"] == b"3"
    assert h["guard.validator.version"] == __version__.encode()
    assert h["guard.quarantined.at"] == b"2026-11-03T10:15:00.000Z"
    assert h["guard.attempt"] == b"1"


def test_errors_header_is_the_json_error_list() -> None:
    h = dict(_envelope().headers())
    assert json.loads(h[H_ERRORS]) == [e.to_json() for e in ERRORS]


def test_file_source_writes_file_and_line_and_no_kafka_coordinates() -> None:
    h = dict(_envelope(source=Source(file="in/orders.jsonl", line=7)).headers())
    assert h["guard.source.file"] == b"in/orders.jsonl"
    assert h["guard.source.line"] == b"7"
    assert not {"guard.source.topic", "guard.source.partition", "guard.source.offset"} & set(h)


def test_partition_zero_and_offset_zero_are_written() -> None:
    h = dict(_envelope(source=Source(topic="t", partition=0, offset=0)).headers())
    assert (h["guard.source.partition"], h["guard.source.offset"]) == (b"0", b"0")


def test_errors_header_is_capped_and_total_counts_all() -> None:
    many = tuple(
        FieldError(f"items[{i}].qty", Reason.OUT_OF_RANGE, "too big", 2) for i in range(250)
    )
    h = dict(_envelope(errors=many).headers())
    shown = json.loads(h[H_ERRORS])
    assert len(shown) == MAX_ERRORS
    assert shown[0]["field"] == "items[0].qty"
    assert shown[-1]["field"] == f"items[{MAX_ERRORS - 1}].qty"
    assert h[H_ERRORS_TOTAL] == b"250"


def test_exactly_max_errors_are_all_shown() -> None:
    errs = tuple(FieldError(f"f{i}", Reason.INVALID, "m") for i in range(MAX_ERRORS))
    h = dict(_envelope(errors=errs).headers())
    assert len(json.loads(h[H_ERRORS])) == MAX_ERRORS
    assert h[H_ERRORS_TOTAL] == str(MAX_ERRORS).encode()


def test_envelope_reasons_are_distinct_in_first_seen_order() -> None:
    assert _envelope().reasons == ("wrong_type", "not_in_enum")


def test_original_headers_are_kept_in_order_before_the_envelope() -> None:
    original = [("trace-id", b"abc"), ("schema-version", b"2"), ("trace-id", b"dup")]
    headers = quarantine_headers(original, _envelope())
    assert headers[:3] == original
    assert [name for name, _ in headers[3:]] == [name for name, _ in _envelope().headers()]


def test_stale_guard_headers_are_replaced_not_stacked() -> None:
    first = quarantine_headers([("trace-id", b"abc")], _envelope(attempt=1))
    second = quarantine_headers(first, _envelope(attempt=2))
    names = [name for name, _ in second]
    assert names.count("guard.attempt") == 1
    assert names.count("guard.errors") == 1
    assert len(second) == len(first)
    assert second[0] == ("trace-id", b"abc")
    assert dict(second)[H_ATTEMPT] == b"2"


def test_non_prefixed_lookalike_headers_are_kept() -> None:
    original = [("guardian", b"x"), ("Guard.attempt", b"9")]
    assert quarantine_headers(original, _envelope())[:2] == original


def test_previous_attempts_of_a_fresh_record_is_zero() -> None:
    assert previous_attempts([("trace-id", b"abc")]) == 0


def test_attempt_is_previous_plus_one_across_round_trips() -> None:
    headers: list[tuple[str, bytes]] = [("k", b"v")]
    for expected in (1, 2, 3):
        envelope = _envelope(attempt=previous_attempts(headers) + 1)
        headers = quarantine_headers(headers, envelope)
        assert read_envelope(headers)["attempt"] == expected


def test_unparseable_attempt_header_counts_as_zero() -> None:
    assert previous_attempts([(H_ATTEMPT, b"many")]) == 0


def test_read_envelope_round_trips() -> None:
    envelope = _envelope()
    data = read_envelope(quarantine_headers([("trace-id", b"abc")], envelope))
    assert data == {
        "envelope": "1",
        "source": {
            "topic": "orders",
            "partition": 3,
            "offset": 42,
            "timestamp_ms": 1700000000000,
            "file": None,
            "line": None,
        },
        "subject": "orders",
        "versions_tried": [2, 1],
        "reasons": ["wrong_type", "not_in_enum"],
        "errors": [e.to_json() for e in ERRORS],
        "errors_total": 3,
        "guard_version": __version__,
        "quarantined_at": "2026-11-03T10:15:00.000Z",
        "attempt": 1,
    }


def test_read_envelope_round_trips_a_file_source_and_no_versions() -> None:
    envelope = Envelope(Source(file="-", line=2), "s", (), (), 1, "t")
    data = read_envelope(envelope.headers())
    assert data["source"]["file"] == "-"
    assert data["source"]["line"] == 2
    assert data["versions_tried"] == []
    assert data["reasons"] == []
    assert data["errors"] == []


def test_read_envelope_without_envelope_header_raises() -> None:
    with pytest.raises(ValueError, match="no ingest-guard envelope"):
        read_envelope([("trace-id", b"abc")])


def test_exposed_values_travel_in_the_errors_header() -> None:
    errs = (FieldError("a", Reason.WRONG_TYPE, "m", 1, "'shown'"),)
    data = read_envelope(_envelope(errors=errs).headers())
    assert data["errors"][0]["value"] == "'shown'"


def test_now_iso_is_utc_with_milliseconds_and_z() -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", now_iso())
