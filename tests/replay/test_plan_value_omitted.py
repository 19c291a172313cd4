"""A quarantine copy written envelope-only has no value to replay: it is reported, not sent."""

from __future__ import annotations

from guard.contracts import load_registry
from guard.quarantine.envelope import Envelope, Source, quarantine_headers
from guard.quarantine.records import from_kafka
from guard.replay.plan import Classifier, Decision
from guard.routing.fit import envelope_only
from guard.transport.base import InRecord, OutRecord
from guard.validation import FieldError, Reason
from tests.fixtures.paths import SCHEMAS


def test_an_envelope_only_record_is_not_replayed_but_counted_as_value_omitted() -> None:
    env = Envelope(
        Source("orders", 0, 7, 1),
        "orders",
        (2,),
        (FieldError("", Reason.NOT_JSON, "x"),),
        1,
        "2026-11-21T09:00:00.000Z",
    )
    full = OutRecord("orders.quarantine", b"k", b"z" * 5000, quarantine_headers([], env))  # type: ignore[arg-type]
    shrunk, _ = envelope_only(full, 2000)
    stored = InRecord("orders.quarantine", 0, 3, 1, shrunk.key, shrunk.value, list(shrunk.headers))
    outcome = Classifier(load_registry(SCHEMAS), {}).classify(from_kafka(stored))
    assert outcome.decision is Decision.VALUE_OMITTED and not outcome.decision.writes
