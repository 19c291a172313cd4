"""Classifier: what a replay decides for each quarantined record."""

from __future__ import annotations

import json

from guard.contracts import load_registry
from guard.quarantine.envelope import Envelope, Source, quarantine_headers
from guard.quarantine.filters import RecordFilter
from guard.quarantine.records import Location, QuarantinedRecord, UnreadableRecord, from_kafka
from guard.replay.outputs import replay_output
from guard.replay.plan import Classifier, Decision
from guard.transport.base import InRecord
from guard.validation import FieldError, Reason
from tests.fixtures.paths import SCHEMAS

GOOD_V2 = {
    "order_id": "6f1c7c4e-2b1a-4c8e-9d3a-1b2c3d4e5f60",
    "customer_email": "a@example.com",
    "amount": 3.5,
    "currency": "CHF",
    "quantity": 2,
    "created_at": "2026-01-01T00:00:00Z",
}


def _quarantined(
    value: dict[str, object] | bytes,
    attempt: int = 1,
    offset: int = 7,
    headers: list[tuple[str, bytes]] | None = None,
) -> QuarantinedRecord:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    env = Envelope(
        Source("orders", 0, offset, 1),
        "orders",
        (1,),
        (FieldError("currency", Reason.NOT_IN_ENUM, "x", 1),),
        attempt,
        "2026-11-21T09:00:00.000Z",
    )
    stored = quarantine_headers(headers or [], env)
    return from_kafka(InRecord("orders.quarantine", 0, offset, 1, b"k", raw, stored))


def _classifier(**kw: object) -> Classifier:
    return Classifier(load_registry(SCHEMAS), {}, **kw)  # type: ignore[arg-type]


def test_a_record_that_now_passes_is_a_pass() -> None:
    outcome = _classifier().classify(_quarantined(GOOD_V2))
    assert outcome.decision is Decision.PASS and outcome.verdict and outcome.verdict.version == 2


def test_a_record_that_still_fails_carries_its_new_errors() -> None:
    outcome = _classifier().classify(_quarantined({**GOOD_V2, "amount": "x"}))
    assert (
        outcome.decision is Decision.FAIL
        and outcome.verdict
        and outcome.verdict.reasons == ("wrong_type",)
    )


def test_records_an_earlier_replay_handled_are_skipped() -> None:
    outcome = _classifier(handled={"0/7": "replayed"}).classify(_quarantined(GOOD_V2, offset=7))
    assert outcome.decision is Decision.ALREADY_HANDLED


def test_records_outside_the_filter_are_skipped() -> None:
    rf = RecordFilter(reasons=frozenset({"wrong_type"}))
    assert (
        _classifier(record_filter=rf).classify(_quarantined(GOOD_V2)).decision is Decision.FILTERED
    )


def test_the_loop_guard_skips_records_already_replayed_max_attempts_times_unless_forced() -> None:
    replayed_thrice = _quarantined(GOOD_V2, attempt=4)  # quarantined 4 times = replayed 3 times
    assert _classifier(max_attempts=3).classify(replayed_thrice).decision is Decision.LOOP_GUARD
    assert (
        _classifier(max_attempts=3, force=True).classify(replayed_thrice).decision is Decision.PASS
    )
    replayed_twice = _quarantined(GOOD_V2, attempt=3)
    assert _classifier(max_attempts=3).classify(replayed_twice).decision is Decision.PASS


def test_records_without_a_route_for_their_source_topic_have_no_destination() -> None:
    rec = _quarantined(GOOD_V2)  # source topic "orders": not configured below
    assert _classifier(destination="clean").classify(rec).decision is Decision.NO_DESTINATION
    assert _classifier(destination="source").classify(rec).decision is Decision.PASS


def test_the_original_version_header_is_honoured() -> None:
    rec = _quarantined(GOOD_V2, headers=[("schema-version", b"1")])  # CHF is not in v1
    assert _classifier().classify(rec).decision is Decision.FAIL


def test_a_pinned_version_overrides_the_header() -> None:
    rec = _quarantined(GOOD_V2, headers=[("schema-version", b"1")])
    assert _classifier(version=2).classify(rec).decision is Decision.PASS
    assert _classifier(version=1).classify(_quarantined(GOOD_V2)).decision is Decision.FAIL


def test_an_unreadable_record_is_reported_not_raised() -> None:
    item = UnreadableRecord(Location(topic="t", partition=0, offset=1), "no envelope")
    assert _classifier().classify(item).decision is Decision.UNREADABLE


def test_a_subject_without_contracts_is_skipped() -> None:
    rec = _quarantined(GOOD_V2)
    ghost = QuarantinedRecord(
        rec.location, rec.key, rec.value, rec.headers, {**rec.envelope, "subject": "ghost"}
    )
    assert _classifier().classify(ghost).decision is Decision.UNKNOWN_SUBJECT


def test_a_record_without_an_envelope_is_unreadable() -> None:
    try:
        from_kafka(InRecord("q", 0, 1, 1, None, b"{}", [("other", b"x")]))
    except UnreadableRecord as exc:
        assert exc.location.key == "0/1"
    else:
        raise AssertionError("expected UnreadableRecord")


def test_two_version_headers_fail_the_replay_as_ambiguous_unless_a_version_is_pinned() -> None:
    rec = _quarantined(GOOD_V2, headers=[("schema-version", b"9"), ("schema-version", b"2")])
    outcome = _classifier().classify(rec)
    assert outcome.decision is Decision.FAIL
    assert outcome.verdict is not None and outcome.verdict.reasons == ("ambiguous_version",)
    assert _classifier(version=2).classify(rec).decision is Decision.PASS


def test_a_record_quarantined_for_a_malformed_header_key_is_skipped_even_when_it_passes() -> None:
    """Its copy lacks that header (confluent-kafka: every header): never released as whole."""
    env = Envelope(
        Source("orders", 0, 7, 1),
        "orders",
        (1,),
        (
            FieldError("", Reason.MALFORMED_HEADER, "header 1: key is not UTF-8"),
            FieldError("currency", Reason.NOT_IN_ENUM, "x", 1),
        ),
        1,
        "2026-11-21T09:00:00.000Z",
    )
    raw = [("guard.malformed.header.1.key", b"tr\xffce"), ("guard.malformed.header.1.value", b"v")]
    stored = quarantine_headers([("trace", b"x"), *raw], env)
    rec = from_kafka(
        InRecord("orders.quarantine", 0, 7, 1, b"k", json.dumps(GOOD_V2).encode(), stored)
    )
    outcome = _classifier().classify(rec)
    assert outcome.decision is Decision.MALFORMED_HEADER and not outcome.decision.writes


def _tombstone(
    key: bytes | None, headers: list[tuple[str, bytes]] | None = None
) -> QuarantinedRecord:
    env = Envelope(
        Source("orders", 0, 7, 1),
        "orders",
        (1,),
        (FieldError("", Reason.NULL_VALUE, "value is null"),),
        1,
        "2026-11-21T09:00:00.000Z",
    )
    stored = quarantine_headers(headers or [], env)  # type: ignore[arg-type]
    return from_kafka(InRecord("orders.quarantine", 0, 7, 1, key, None, stored))


def test_a_keyed_tombstone_passes_when_tombstones_are_forwarded() -> None:
    """As the live router: `tombstones: forward` sends a keyed null value to the clean topic."""
    stored = _tombstone(b"cust-1", [("schema-version", b"1"), ("trace", b"t")])
    outcome = _classifier(forward_tombstones=True).classify(stored)
    assert outcome.decision is Decision.PASS
    key, value, headers = replay_output(outcome, "r1", "2026-12-08T10:00:00Z", "schema-version")
    assert (key, value) == (b"cust-1", None)
    own = [(k, v) for k, v in headers if not k.startswith("guard.")]
    assert own == [("schema-version", b"1"), ("trace", b"t")], "no version judged it: kept"


def test_a_tombstone_without_a_key_or_with_tombstones_quarantined_still_fails() -> None:
    for classifier, key in ((_classifier(forward_tombstones=True), None), (_classifier(), b"k")):
        outcome = classifier.classify(_tombstone(key))
        assert outcome.decision is Decision.FAIL
        assert outcome.verdict is not None and outcome.verdict.reasons == ("null_value",)
