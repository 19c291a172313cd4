"""Quarantine inspection: stats count the current quarantine; show hides values by default."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from guard.quarantine.envelope import Envelope, Source, quarantine_headers
from guard.quarantine.filters import RecordFilter
from guard.quarantine.inspect import collect_stats, describe
from guard.quarantine.records import Location, UnreadableRecord, from_kafka
from guard.transport.base import InRecord
from guard.validation import FieldError, Reason


def _rec(
    offset: int,
    reason: Reason,
    field: str,
    at: str = "2026-11-21T09:15:00.000Z",
    partition: int = 0,
):  # type: ignore[no-untyped-def]
    env = Envelope(
        Source("orders", partition, offset * 10, 1),
        "orders",
        (2,),
        (FieldError(field, reason, "m", 2),),
        1,
        at,
    )
    return from_kafka(
        InRecord(
            "orders.quarantine",
            0,
            offset,
            1,
            b"secret-key",
            b'{"card":"4111"}',
            quarantine_headers([], env),
        )
    )


def test_stats_count_by_subject_reason_field_and_hour() -> None:
    items = [
        _rec(0, Reason.MISSING_FIELD, "a"),
        _rec(1, Reason.WRONG_TYPE, "b", "2026-11-21T10:01:00.000Z"),
        _rec(2, Reason.MISSING_FIELD, "a"),
    ]
    stats = collect_stats(items, {}, "hour")
    assert stats.total == 3 and stats.by_subject == {"orders": 3}
    assert stats.by_reason == {"missing_field": 2, "wrong_type": 1} and stats.by_field == {
        "a": 2,
        "b": 1,
    }
    assert stats.by_time == {"2026-11-21T09:00Z": 2, "2026-11-21T10:00Z": 1}


def test_stats_leave_out_copies_replays_handled_unless_asked() -> None:
    items = [_rec(0, Reason.MISSING_FIELD, "a"), _rec(1, Reason.MISSING_FIELD, "a")]
    assert (
        collect_stats(items, {"0/0": "replayed"}).total,
        collect_stats(items, {"0/0": "replayed"}).handled,
    ) == (1, 1)
    assert collect_stats(items, {"0/0": "replayed"}, include_handled=True).total == 2


def test_stats_count_unreadable_records_separately() -> None:
    items = [
        UnreadableRecord(Location(topic="q", partition=0, offset=5), "x"),
        _rec(0, Reason.NOT_JSON, ""),
    ]
    stats = collect_stats(items, {})
    assert (stats.total, stats.unreadable) == (1, 1)


def test_filters_select_by_reason_time_and_source_coordinates() -> None:
    a = _rec(0, Reason.MISSING_FIELD, "a", partition=1)
    b = _rec(1, Reason.WRONG_TYPE, "b", "2026-11-22T00:00:00.000Z")
    assert RecordFilter(reasons=frozenset({"wrong_type"})).matches(b) and not RecordFilter(
        reasons=frozenset({"wrong_type"})
    ).matches(a)
    assert RecordFilter(until=datetime(2026, 11, 22, tzinfo=UTC)).matches(a)
    assert not RecordFilter(since=datetime(2026, 11, 22, tzinfo=UTC)).matches(a)
    assert RecordFilter(partitions=frozenset({1})).matches(a) and not RecordFilter(
        partitions=frozenset({1})
    ).matches(b)
    assert RecordFilter(offset_from=5, offset_to=10).matches(b) and not RecordFilter(
        offset_from=5, offset_to=10
    ).matches(a)
    assert RecordFilter(fields=frozenset({"b"})).matches(b)


def test_show_hides_keys_and_values_unless_asked() -> None:
    rec = _rec(0, Reason.MISSING_FIELD, "a")
    hidden = json.dumps(describe(rec, show_values=False))
    assert "4111" not in hidden and "secret-key" not in hidden and '"value_bytes": 15' in hidden
    shown = describe(rec, show_values=True)
    assert shown["value"] == '{"card":"4111"}' and shown["key"] == "secret-key"


def test_with_a_filter_stats_count_only_the_handled_copies_it_selects() -> None:
    """Before: `--reason wrong_type` said "(1 more already handled by replays)" for a
    handled copy quarantined as missing_field, which the filter leaves out."""
    items = [_rec(0, Reason.MISSING_FIELD, "a"), _rec(1, Reason.WRONG_TYPE, "b")]
    only = RecordFilter(reasons=frozenset({"wrong_type"}))
    stats = collect_stats(items, {"0/0": "replayed"}, record_filter=only)
    assert (stats.total, stats.handled) == (1, 0)
    stats = collect_stats(items, {"0/1": "requeued"}, record_filter=only)
    assert (stats.total, stats.handled) == (0, 1)


def test_show_hides_the_offending_values_an_envelope_carries_unless_asked() -> None:
    """A copy written while `expose_values` was on carries each error's offending value:
    `show` prints it only with --show-values, as `quarantine report` does (before: always,
    in the envelope's errors)."""
    env = Envelope(
        Source("orders", 0, 1, 1),
        "orders",
        (2,),
        (FieldError("card", Reason.PATTERN_MISMATCH, "m", 2, value="'4111111111111111'"),),
        1,
        "2026-11-21T09:15:00.000Z",
    )
    rec = from_kafka(
        InRecord("orders.quarantine", 0, 0, 1, b"k", b"{}", quarantine_headers([], env))
    )
    hidden = describe(rec, show_values=False)
    assert "4111" not in json.dumps(hidden)
    assert hidden["envelope"]["errors"] == [
        {"field": "card", "code": "pattern_mismatch", "message": "m", "version": 2}
    ]
    assert "4111" in json.dumps(describe(rec, show_values=True))
    assert rec.envelope["errors"][0]["value"] == "'4111111111111111'", "the record is untouched"
