"""The exported JSON Schema says what the guard does: same verdict on the same records."""

from __future__ import annotations

import json
import random

import pytest
from jsonschema import Draft202012Validator

from guard.contracts import load_registry
from guard.demo.samples import good_order, sample_stream
from guard.validation import Limits, RecordValidator, decode
from tests.fixtures.paths import SCHEMAS

# Records the JSON Schema cannot judge: they are not JSON objects to begin with, or the
# header picks the version, which a schema for one version knows nothing about.
NOT_SCHEMA_CASES = {
    "not_json",
    "not_utf8",
    "empty_value",
    "null_value",
    "too_large",
    "too_deep",
    "not_finite",
    "duplicate_key",
    "unknown_version",
}


def _mutations(rng: random.Random) -> list[dict[str, object]]:
    """Hand-picked near misses around every field's checks."""
    o = good_order(rng)
    cases: list[dict[str, object]] = [o]
    for field, bad in [
        ("order_id", "6f1c7c4e2b1a4c8e9d3a1b2c3d4e5f60"),
        ("order_id", "{6f1c7c4e-2b1a-4c8e-9d3a-1b2c3d4e5f60}"),
        ("customer_email", "not-an-email"),
        ("amount", -1),
        ("amount", 1_000_001),
        ("amount", "3"),
        ("currency", "JPY"),
        ("quantity", 0),
        ("quantity", 1.5),
        ("quantity", True),
        ("created_at", "2026-11-03"),
        ("created_at", "2026-11-03T10:00:00"),
        ("created_at", "2026-13-03T10:00:00Z"),
        ("channel", "fax"),
        ("coupon", "ab"),
        ("coupon", None),
        ("shipping", {"country": "DE", "postcode": "1"}),
        ("shipping", {"country": "de", "postcode": "1"}),
        ("items", []),
        ("items", [{"sku": "", "qty": 1}]),
        ("items", [{"sku": "a", "qty": 0}]),
        ("extra_field", 1),
    ]:
        cases.append({**o, field: bad})
    missing = dict(o)
    del missing["customer_email"]
    cases.append(missing)
    return cases


@pytest.mark.parametrize("version", [1, 2])
def test_exported_schema_and_guard_agree_on_every_judgeable_record(version: int) -> None:
    subject = load_registry(SCHEMAS).subject("orders")
    guard = RecordValidator(subject, [version])
    schema = Draft202012Validator(
        subject.versions[version].json_schema, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    records = [
        s.value
        for s in sample_stream(600, bad_share=0.3, seed=3)
        if s.expected not in NOT_SCHEMA_CASES
    ]
    records += [json.dumps(r).encode() for r in _mutations(random.Random(5))]
    checked = 0
    for value in records:
        assert value is not None
        obj, _ = decode(value, Limits())
        if obj is None:
            continue
        checked += 1
        assert guard.validate(value).ok == schema.is_valid(obj), value[:300]
    assert checked > 400
