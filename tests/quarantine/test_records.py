"""QuarantinedRecord: a stored copy read back as replay sees it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from guard.quarantine.envelope import Envelope, HeaderStyle, Source, quarantine_headers
from guard.quarantine.filters import RecordFilter
from guard.quarantine.records import UnreadableRecord, from_kafka
from guard.transport.base import InHeaders, InRecord
from guard.validation import FieldError, Reason

ENVELOPE = Envelope(
    Source("orders", 0, 7, 1),
    "orders",
    (1,),
    (FieldError("currency", Reason.NOT_IN_ENUM, "x", 1),),
    1,
    "2026-11-21T09:00:00.000Z",
)


@pytest.mark.parametrize("style", ["guard", "connect", "both"])
def test_the_original_headers_of_a_copy_are_the_producers_alone_in_every_header_style(
    style: HeaderStyle,
) -> None:
    """Neither the guard's `guard.*` nor its `__connect.errors.*` envelope headers."""
    mine: InHeaders = [("trace", b"t"), ("n", None), ("dup", b"1"), ("dup", b"2")]
    stored = quarantine_headers(mine, ENVELOPE, style, task_id="vm")
    assert any(k.startswith("__connect.errors.") for k, _ in stored) == (style != "guard")
    rec = from_kafka(InRecord("orders.quarantine", 0, 3, 1, b"k", b"{}", stored))
    assert rec.original_headers == mine


def test_a_producers_own_connect_headers_before_the_envelope_are_its_data() -> None:
    """Under the guard style they are stored as the producer sent them; replay keeps them."""
    mine: InHeaders = [("__connect.errors.topic", b"upstream-dlq"), ("w", b"1")]
    stored = quarantine_headers(mine, ENVELOPE, "guard")
    rec = from_kafka(InRecord("orders.quarantine", 0, 3, 1, b"k", b"{}", stored))
    assert rec.original_headers == mine


@pytest.mark.parametrize("marker", [b"5", b"[[1]]", b'{"a": 1}', b"[1]"])
def test_a_copy_whose_null_headers_marker_is_not_a_list_of_names_is_unreadable(
    marker: bytes,
) -> None:
    """Only a damaged or foreign record carries one: it is reported, not a crash (before: a
    TypeError out of `guard replay` and `guard quarantine stats/show`, exit 4)."""
    stored = [*quarantine_headers([], ENVELOPE), ("guard.null.headers", marker)]
    with pytest.raises(UnreadableRecord, match=r"guard\.null\.headers"):
        from_kafka(InRecord("orders.quarantine", 0, 3, 1, b"k", b"{}", stored))


def test_a_quarantine_time_without_an_offset_is_read_as_utc() -> None:
    """The envelope's time is UTC; one written without its `Z` is still UTC, so --since and
    --until compare it (before: TypeError, naive vs aware, out of replay, show, stats and
    report with a time filter: exit 4)."""
    stored = [
        (k, b"2026-11-21T09:00:00" if k == "guard.quarantined.at" else v)
        for k, v in quarantine_headers([], ENVELOPE)
    ]
    rec = from_kafka(InRecord("orders.quarantine", 0, 3, 1, b"k", b"{}", stored))
    assert rec.quarantined_at == datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    assert RecordFilter(since=datetime(2026, 11, 21, tzinfo=UTC)).matches(rec)
    assert not RecordFilter(until=datetime(2026, 11, 21, 9, 0, tzinfo=UTC)).matches(rec)
