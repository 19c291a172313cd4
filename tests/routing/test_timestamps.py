"""The timestamp rule: which record timestamps a target topic's window takes, with a margin,
and how the router routes the ones it would refuse."""

from __future__ import annotations

import json
import time

import pytest

from guard.contracts import load_registry
from guard.quarantine.envelope import read_envelope
from guard.routing import RoutePlan, Router
from guard.routing.timestamps import MARGIN_MS, admits
from guard.transport.base import InRecord, TimestampWindow
from guard.validation import RecordValidator
from tests.fixtures.paths import SCHEMAS

HOUR = 3_600_000
NOW = 1_800_000_000_000
KAFKA_4 = TimestampWindow(before_ms=None, after_ms=HOUR)  # the broker's default since 4.0
GOOD = {
    "order_id": "6f1c7c4e-2b1a-4c8e-9d3a-1b2c3d4e5f60",
    "customer_email": "a@example.com",
    "amount": 3.5,
    "currency": "EUR",
    "quantity": 2,
    "created_at": "2026-01-01T00:00:00Z",
}


@pytest.mark.parametrize(
    ("ts", "inside"),
    [
        (NOW, True),
        (NOW - 365 * 24 * HOUR, True),  # no bound behind
        (NOW + HOUR - MARGIN_MS, True),
        (NOW + HOUR - MARGIN_MS + 1, False),  # within the margin of the edge
        (NOW + 2 * HOUR, False),
        (None, True),  # the producer stamps it
        (-1, True),  # Kafka's "no timestamp", exempt from the check
    ],
)
def test_a_window_takes_timestamps_up_to_its_bound_less_the_margin(
    ts: int | None, inside: bool
) -> None:
    assert admits(KAFKA_4, ts, NOW) is inside


def test_a_bound_behind_now_is_checked_like_one_ahead() -> None:
    window = TimestampWindow(before_ms=24 * HOUR, after_ms=None)
    assert admits(window, NOW - 24 * HOUR + MARGIN_MS, NOW)
    assert not admits(window, NOW - 24 * HOUR, NOW)
    assert admits(window, NOW + 365 * 24 * HOUR, NOW)


def test_the_margin_never_takes_more_than_half_of_a_small_bound() -> None:
    window = TimestampWindow(before_ms=None, after_ms=10_000)
    assert admits(window, NOW + 5_000, NOW) and not admits(window, NOW + 5_001, NOW)


def _router(window: TimestampWindow | None) -> Router:
    validator = RecordValidator(load_registry(SCHEMAS).subject("orders"), "all")
    plan = RoutePlan(
        "orders",
        validator,
        "orders.valid",
        "orders.quarantine",
        3,
        3,
        valid_window=window,
        quarantine_window=window,
    )
    return Router({"orders": plan}, "schema-version")


def _rec(value: bytes, ts: int, offset: int = 0) -> InRecord:
    return InRecord("orders", 1, offset, ts, b"k%d" % offset, value, [("trace", b"t")])


def test_a_valid_record_stamped_past_the_clean_topics_window_is_quarantined_intact() -> None:
    ahead = int(time.time() * 1000) + 2 * HOUR
    value = json.dumps(GOOD).encode()
    routed = _router(KAFKA_4).route([_rec(value, ahead)])
    [out] = routed.records
    assert (out.topic, out.key, out.value) == ("orders.quarantine", b"k0", value)
    assert out.headers[0] == ("trace", b"t")
    envelope = read_envelope(out.headers)
    assert [e["code"] for e in envelope["errors"]] == ["timestamp_outside_target"]
    assert envelope["source"]["timestamp_ms"] == ahead
    assert out.timestamp_ms is None, "stamped when written: the quarantine topic refuses it"
    assert routed.stats.by_reason == {"timestamp_outside_target": 1}


def test_a_quarantine_copy_inside_the_window_keeps_its_timestamp() -> None:
    now = int(time.time() * 1000)
    routed = _router(KAFKA_4).route([_rec(b'{"amount": "x"}', now)])
    [out] = routed.records
    assert (out.topic, out.timestamp_ms) == ("orders.quarantine", now)


def test_without_a_window_every_timestamp_is_kept() -> None:
    ahead = int(time.time() * 1000) + 2 * HOUR
    value = json.dumps(GOOD).encode()
    [out] = _router(None).route([_rec(value, ahead)]).records
    assert (out.topic, out.timestamp_ms) == ("orders.valid", ahead)
