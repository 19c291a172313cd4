"""Connect-style quarantine headers: the envelope under `__connect.errors.*` names."""

from __future__ import annotations

from guard.quarantine.envelope import (
    Envelope,
    Source,
    envelope_headers,
    quarantine_headers,
    read_envelope,
)
from guard.validation.reasons import FieldError, Reason


def _envelope() -> Envelope:
    return Envelope(
        source=Source("orders", 2, 1834, 1_763_716_800_000),
        subject="orders",
        versions_tried=(2,),
        errors=(
            FieldError("amount", Reason.OUT_OF_RANGE, "must be >= 0", 2),
            FieldError("email", Reason.MISSING_FIELD, "Field required", 2),
        ),
        attempt=1,
        quarantined_at="2026-12-01T00:00:00.000Z",
    )


def test_connect_names_carry_the_source_and_the_failure() -> None:
    h = dict(envelope_headers(_envelope(), "connect", task_id="guard-1"))
    assert h["__connect.errors.topic"] == b"orders"
    assert h["__connect.errors.partition"] == b"2"
    assert h["__connect.errors.offset"] == b"1834"
    assert h["__connect.errors.connector.name"] == b"ingest-guard"
    assert h["__connect.errors.task.id"] == b"guard-1"
    assert h["__connect.errors.stage"] == b"VALUE_CONVERTER"
    assert h["__connect.errors.exception.message"] == b"orders v2: out_of_range, missing_field"
    assert h["__connect.errors.exception.stacktrace"].decode().splitlines() == [
        "amount: out_of_range: must be >= 0",
        "email: missing_field: Field required",
    ]


def test_connect_style_keeps_the_guard_headers_connect_has_no_names_for() -> None:
    names = [k for k, _ in envelope_headers(_envelope(), "connect")]
    assert "guard.source.topic" not in names and "guard.source.offset" not in names
    assert {"guard.envelope", "guard.subject", "guard.errors", "guard.attempt"} <= set(names)


def test_both_style_writes_every_header_of_both_families() -> None:
    names = {k for k, _ in envelope_headers(_envelope(), "both")}
    assert {"guard.source.topic", "__connect.errors.topic"} <= names


def test_the_envelope_reads_back_the_same_in_every_style() -> None:
    expected = read_envelope(envelope_headers(_envelope(), "guard"))
    for style in ("connect", "both"):
        assert read_envelope(envelope_headers(_envelope(), style)) == expected  # type: ignore[arg-type]


def test_requarantining_replaces_stale_connect_headers_instead_of_stacking_them() -> None:
    first = quarantine_headers([("trace", b"t")], _envelope(), "connect")
    again = quarantine_headers(first, _envelope(), "connect")
    assert len(again) == len(first)
    assert again[0] == ("trace", b"t")
