"""RecordValidator: per-record verdicts, reasons, version resolution and unknown fields."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from guard.contracts import Subject, load_registry
from guard.errors import ConfigError
from guard.quarantine.envelope import Envelope, Source
from guard.validation import Reason, RecordValidator, Verdict
from tests.fixtures.paths import REPO

REPO_SCHEMAS = REPO / "schemas"

PROBE = """\
subject: probe
version: 1
unknown_fields: reject
fields:
  id: {type: string, format: uuid}
  price: {type: number, minimum: 0}
  count: {type: integer}
  small: {type: integer, minimum: 0, maximum: 100, required: false}
  flag: {type: boolean, required: false}
  email: {type: string, format: email, required: false}
  at: {type: timestamp, required: false}
  day: {type: date, required: false}
  link: {type: string, format: uri, required: false}
  ref: {type: string, format: uuid, required: false}
  status: {type: string, enum: [new, paid], required: false}
  code: {type: string, pattern: "^[A-Z]{3}$", required: false}
  name: {type: string, min_length: 2, max_length: 5, required: false}
  tags: {type: array, items: {type: string}, max_items: 2, required: false}
  note: {type: string, nullable: true, required: false}
  shipping:
    type: object
    required: false
    fields:
      country: {type: string}
      city: {type: string}
  lines:
    type: array
    required: false
    items:
      type: object
      fields:
        sku: {type: string}
        qty: {type: integer, minimum: 1}
"""

GOOD: dict[str, Any] = {"id": "123e4567-e89b-42d3-a456-426614174000", "price": 9.5, "count": 3}

V1_ORDER: dict[str, Any] = {
    "order_id": "123e4567-e89b-42d3-a456-426614174000",
    "customer_email": "a@example.com",
    "amount": 12.5,
    "currency": "EUR",
    "quantity": 2,
    "created_at": "2026-11-03T10:15:00Z",
}


def _write(root: Path, subject: str, version: int, text: str) -> None:
    path = root / subject / f"v{version}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def _subject(root: Path, name: str, *versions: str) -> Subject:
    for number, text in enumerate(versions, start=1):
        _write(root, name, number, text)
    return load_registry(root).subject(name)


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Subject:
    root = tmp_path_factory.mktemp("schemas")
    _write(root, "probe", 1, PROBE)
    return load_registry(root).subject("probe")


@pytest.fixture(scope="module")
def orders() -> Subject:
    return load_registry(REPO_SCHEMAS).subject("orders")


def _enc(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def _with(**changes: Any) -> bytes:
    return _enc({**GOOD, **changes})


def _raw(fragment: bytes) -> bytes:
    """GOOD with a raw JSON fragment spliced in before the closing brace."""
    return _enc(GOOD)[:-1] + b", " + fragment + b"}"


# --- every kind of bad input gets its reason, and the next record is still processed ---------

BAD_INPUTS: list[tuple[str, bytes | None, Reason]] = [
    ("not_json", b"order_id=42&amount=3", Reason.NOT_JSON),
    ("not_utf8", b'{"id": "\xff\xfe"}', Reason.NOT_UTF8),
    ("empty_value", b"", Reason.EMPTY_VALUE),
    ("null_value", None, Reason.NULL_VALUE),
    ("too_large_10mb", _with(note="x" * (10 * 1024 * 1024)), Reason.TOO_LARGE),
    ("too_deep_objects", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, Reason.TOO_DEEP),
    ("too_deep_arrays", b"[" * 10_000 + b"]" * 10_000, Reason.TOO_DEEP),
    ("nan", _raw(b'"price2": NaN'), Reason.NOT_FINITE),
    ("infinity", _enc(GOOD).replace(b"9.5", b"Infinity"), Reason.NOT_FINITE),
    ("minus_infinity", _enc(GOOD).replace(b"9.5", b"-Infinity"), Reason.NOT_FINITE),
    ("float_overflow", _enc(GOOD).replace(b"9.5", b"1e400"), Reason.OUT_OF_RANGE),
    ("duplicate_top_level", _raw(b'"count": 4'), Reason.DUPLICATE_KEY),
    (
        "duplicate_nested",
        _raw(b'"shipping": {"country": "DE", "city": "B", "city": "C"}'),
        Reason.DUPLICATE_KEY,
    ),
    ("int_2_pow_70", _with(count=2**70), Reason.OUT_OF_RANGE),
    (
        "int_5000_digits",
        _enc(GOOD).replace(b'"count": 3', b'"count": ' + b"7" * 5000),
        Reason.OUT_OF_RANGE,
    ),
    ("string_for_number", _with(price="12.50"), Reason.WRONG_TYPE),
    ("true_for_integer", _with(count=True), Reason.WRONG_TYPE),
    ("one_for_boolean", _with(flag=1), Reason.WRONG_TYPE),
    ("float_for_integer", _with(count=1.0), Reason.WRONG_TYPE),
    ("missing_field", _enc({"id": GOOD["id"], "price": 1}), Reason.MISSING_FIELD),
    ("null_not_allowed", _with(count=None), Reason.NULL_NOT_ALLOWED),
    ("top_level_array", b"[1, 2]", Reason.NOT_OBJECT),
    ("top_level_string", b'"hello"', Reason.NOT_OBJECT),
    ("not_in_enum", _with(status="lost"), Reason.NOT_IN_ENUM),
    ("pattern_mismatch", _with(code="abc"), Reason.PATTERN_MISMATCH),
    ("string_too_short", _with(name="a"), Reason.BAD_LENGTH),
    ("string_too_long", _with(name="abcdef"), Reason.BAD_LENGTH),
    ("array_too_long", _with(tags=["a", "b", "c"]), Reason.BAD_LENGTH),
    ("bad_uuid", _with(ref="not-a-uuid"), Reason.BAD_FORMAT),
    ("bad_email", _with(email="nobody"), Reason.BAD_FORMAT),
    ("bad_date_time", _with(at="tomorrow"), Reason.BAD_FORMAT),
    ("bad_date", _with(day="2026-02-30"), Reason.BAD_FORMAT),
    ("bad_uri", _with(link="no scheme here"), Reason.BAD_FORMAT),
    ("unknown_field", _with(extra=1), Reason.UNKNOWN_FIELD),
]


@pytest.mark.parametrize(
    ("value", "reason"), [(v, r) for _, v, r in BAD_INPUTS], ids=[n for n, _, _ in BAD_INPUTS]
)
def test_bad_input_gets_its_reason(probe: Subject, value: bytes | None, reason: Reason) -> None:
    verdict = RecordValidator(probe).validate(value)
    assert not verdict.ok
    assert verdict.reasons[0] == reason.value
    assert verdict.value is None


def test_every_bad_input_in_a_stream_is_quarantined_and_the_next_record_passes(
    probe: Subject,
) -> None:
    validator = RecordValidator(probe)
    stream: list[bytes | None] = []
    for _, value, _ in BAD_INPUTS:
        stream += [value, _enc(GOOD)]
    verdicts = [validator.validate(v) for v in stream]
    assert [v.reasons[0] for v in verdicts[0::2]] == [r.value for _, _, r in BAD_INPUTS]
    assert all(v.ok for v in verdicts[1::2])
    assert all(v.value == _enc(GOOD) for v in verdicts[1::2])


def test_ten_mb_value_is_rejected_by_size_before_any_parse(probe: Subject) -> None:
    """10 MB of `[` would be too_deep if parsed: too_large proves the size check runs first."""
    value = b"[" * (10 * 1024 * 1024)
    validator = RecordValidator(probe)
    verdict = validator.validate(value)
    assert verdict.reasons == ("too_large",)
    assert validator.validate(_enc(GOOD)).ok


def test_out_of_range_integer_names_the_field(probe: Subject) -> None:
    verdict = RecordValidator(probe).validate(_with(count=2**70))
    assert [(e.path, e.code) for e in verdict.errors] == [("count", Reason.OUT_OF_RANGE)]


def test_float_overflow_names_the_number_field(probe: Subject) -> None:
    verdict = RecordValidator(probe).validate(_enc(GOOD).replace(b"9.5", b"1e400"))
    assert [(e.path, e.code) for e in verdict.errors] == [("price", Reason.OUT_OF_RANGE)]


def test_huge_integer_literal_in_a_number_field_is_out_of_range(probe: Subject) -> None:
    """A 400-digit integer is a JSON number of the right type; its size is the problem."""
    value = _enc(GOOD).replace(b"9.5", b"1" + b"0" * 400)
    verdict = RecordValidator(probe).validate(value)
    assert [(e.path, e.code) for e in verdict.errors] == [("price", Reason.OUT_OF_RANGE)]


def test_missing_fields_give_one_error_per_field(probe: Subject) -> None:
    verdict = RecordValidator(probe).validate(_enc({"price": 1}))
    assert [(e.path, e.code) for e in verdict.errors] == [
        ("id", Reason.MISSING_FIELD),
        ("count", Reason.MISSING_FIELD),
    ]


def test_missing_nested_fields_carry_dotted_paths(probe: Subject) -> None:
    verdict = RecordValidator(probe).validate(_with(shipping={}))
    assert [(e.path, e.code) for e in verdict.errors] == [
        ("shipping.country", Reason.MISSING_FIELD),
        ("shipping.city", Reason.MISSING_FIELD),
    ]


def test_errors_in_array_items_carry_indexed_paths(probe: Subject) -> None:
    verdict = RecordValidator(probe).validate(
        _with(lines=[{"sku": "a", "qty": 1}, {"sku": "b", "qty": 0}, {"qty": 2}])
    )
    assert [(e.path, e.code) for e in verdict.errors] == [
        ("lines[1].qty", Reason.OUT_OF_RANGE),
        ("lines[2].sku", Reason.MISSING_FIELD),
    ]


def test_all_failing_fields_are_reported_together(probe: Subject) -> None:
    verdict = RecordValidator(probe).validate(_with(count="3", status="lost", code="x"))
    assert verdict.reasons == ("wrong_type", "not_in_enum", "pattern_mismatch")


def test_explicit_null_on_nullable_field_passes(probe: Subject) -> None:
    assert RecordValidator(probe).validate(_with(note=None)).ok


def test_explicit_null_on_optional_non_nullable_field_is_null_not_allowed(probe: Subject) -> None:
    verdict = RecordValidator(probe).validate(_with(status=None))
    assert [(e.path, e.code) for e in verdict.errors] == [("status", Reason.NULL_NOT_ALLOWED)]


def test_null_nested_object_is_null_not_allowed(probe: Subject) -> None:
    verdict = RecordValidator(probe).validate(_with(shipping=None))
    assert [(e.path, e.code) for e in verdict.errors] == [("shipping", Reason.NULL_NOT_ALLOWED)]


def test_string_for_nested_object_is_wrong_type(probe: Subject) -> None:
    verdict = RecordValidator(probe).validate(_with(shipping="DE"))
    assert [(e.path, e.code) for e in verdict.errors] == [("shipping", Reason.WRONG_TYPE)]


def test_valid_record_passes_with_original_bytes_and_decoded_record(probe: Subject) -> None:
    value = _with(status="paid", shipping={"country": "DE", "city": "Berlin"})
    verdict = RecordValidator(probe).validate(value)
    assert verdict.ok
    assert verdict.errors == ()
    assert verdict.value is value
    assert verdict.record == json.loads(value)
    assert (verdict.subject, verdict.version, verdict.versions_tried) == ("probe", 1, (1,))


def test_contract_errors_carry_the_version_they_came_from(orders: Subject) -> None:
    verdict = RecordValidator(orders).validate(_enc({**V1_ORDER, "currency": "JPY"}))
    assert [(e.path, e.code, e.version) for e in verdict.errors] == [
        ("currency", Reason.NOT_IN_ENUM, 2)
    ]


def test_failed_verdict_keeps_the_decoded_record(probe: Subject) -> None:
    verdict = RecordValidator(probe).validate(_with(count="3"))
    assert verdict.record == {**GOOD, "count": "3"}


def test_reasons_are_distinct_in_first_seen_order(probe: Subject) -> None:
    verdict = RecordValidator(probe).validate(_enc({"count": "x"}))
    assert verdict.reasons == ("missing_field", "wrong_type")
    assert len(verdict.errors) == 3


# --- no offending values in messages unless asked ---------------------------------------------

SECRET = "secret-7f3a"
LEAKY_RECORDS = {
    "bad_format": _with(email=SECRET),
    "pattern": _with(code=SECRET),
    "enum": _with(status=SECRET),
    "length": _with(name=SECRET),
    "wrong_type": _with(count=SECRET),
    "unknown_field": _with(extra=SECRET),
    "uuid": _with(id=SECRET),
    "timestamp": _with(at=SECRET),
    "nested": _with(shipping={"country": "DE", "city": "B", "zz": SECRET}),
    "array_item": _with(tags=[{"k": SECRET}]),
}


@pytest.mark.parametrize("value", list(LEAKY_RECORDS.values()), ids=list(LEAKY_RECORDS))
def test_messages_and_envelope_never_contain_the_value_by_default(
    probe: Subject, value: bytes
) -> None:
    verdict = RecordValidator(probe).validate(value)
    assert not verdict.ok
    for err in verdict.errors:
        assert SECRET not in err.message
        assert err.value is None
    envelope = Envelope(Source(topic="t"), "probe", verdict.versions_tried, verdict.errors, 1, "x")
    for _, header in envelope.headers():
        assert SECRET.encode() not in header


def test_number_value_is_not_echoed_in_range_message(probe: Subject) -> None:
    verdict = RecordValidator(probe).validate(_with(small=987654))
    assert verdict.reasons == ("out_of_range",)
    assert "987654" not in verdict.errors[0].message


@pytest.mark.parametrize(
    "value",
    [v for k, v in LEAKY_RECORDS.items() if k not in {"nested", "array_item"}],
    ids=[k for k in LEAKY_RECORDS if k not in {"nested", "array_item"}],
)
def test_expose_values_puts_the_value_on_the_error(probe: Subject, value: bytes) -> None:
    verdict = RecordValidator(probe, expose_values=True).validate(value)
    assert verdict.errors[0].value == repr(SECRET)
    assert SECRET not in verdict.errors[0].message


def test_expose_values_does_not_invent_a_value_for_missing_fields(probe: Subject) -> None:
    verdict = RecordValidator(probe, expose_values=True).validate(_enc({"price": 1, "count": 1}))
    assert [(e.code, e.value) for e in verdict.errors] == [(Reason.MISSING_FIELD, None)]


def test_expose_values_truncates_long_values(probe: Subject) -> None:
    verdict = RecordValidator(probe, expose_values=True).validate(_with(code="Q" * 5000))
    shown = verdict.errors[0].value
    assert shown is not None
    assert len(shown) == 200
    assert shown.startswith("'QQQ")


# --- version resolution -----------------------------------------------------------------------


@pytest.mark.parametrize("header", [b"1", b"v1", b"V1", b" 1 "])
def test_header_selects_exactly_that_version(orders: Subject, header: bytes) -> None:
    verdict = RecordValidator(orders, "all").validate(_enc(V1_ORDER), header)
    assert verdict.ok
    assert (verdict.version, verdict.versions_tried) == (1, (1,))


def test_header_version_is_the_only_one_tried(orders: Subject) -> None:
    # Valid for v2 (allows unknown fields) but not for v1 (rejects them).
    verdict = RecordValidator(orders, "all").validate(_enc({**V1_ORDER, "extra": 1}), b"1")
    assert not verdict.ok
    assert verdict.versions_tried == (1,)
    assert [(e.path, e.code, e.version) for e in verdict.errors] == [
        ("extra", Reason.UNKNOWN_FIELD, 1)
    ]


@pytest.mark.parametrize("header", [b"v9", b"abc", b"", b"1.0", b"v"])
def test_header_naming_no_version_is_unknown_version(orders: Subject, header: bytes) -> None:
    verdict = RecordValidator(orders).validate(_enc(V1_ORDER), header)
    assert not verdict.ok
    assert verdict.reasons == ("unknown_version",)
    assert verdict.versions_tried == ()


def test_unknown_version_header_does_not_echo_the_header(orders: Subject) -> None:
    verdict = RecordValidator(orders).validate(_enc(V1_ORDER), b"secret-7f3a")
    assert "secret-7f3a" not in verdict.errors[0].message


def test_version_header_is_checked_before_the_value(orders: Subject) -> None:
    assert RecordValidator(orders).validate(b"not json", b"v9").reasons == ("unknown_version",)


def test_no_header_and_latest_tries_only_the_latest(orders: Subject) -> None:
    # A v1-shaped record without a header is judged by v2 alone.
    verdict = RecordValidator(orders).validate(_enc(V1_ORDER))
    assert (verdict.ok, verdict.version, verdict.versions_tried) == (True, 2, (2,))


def test_no_header_tries_accepted_versions_newest_first_and_first_pass_wins(
    tmp_path: Path,
) -> None:
    subject = _subject(
        tmp_path,
        "s",
        "subject: s\nversion: 1\nfields: {a: {type: string}}\n",
        "subject: s\nversion: 2\nfields: {a: {type: integer}}\n",
    )
    validator = RecordValidator(subject, "all")
    v1_record = validator.validate(b'{"a": "x"}')
    assert (v1_record.ok, v1_record.version, v1_record.versions_tried) == (True, 1, (2, 1))
    v2_record = validator.validate(b'{"a": 1}')
    assert (v2_record.ok, v2_record.version, v2_record.versions_tried) == (True, 2, (2,))


def test_record_failing_every_version_carries_the_newest_versions_errors(
    tmp_path: Path,
) -> None:
    subject = _subject(
        tmp_path,
        "s",
        "subject: s\nversion: 1\nfields: {a: {type: string}, b: {type: string}}\n",
        "subject: s\nversion: 2\nfields: {a: {type: integer}}\n",
    )
    verdict = RecordValidator(subject, "all").validate(b'{"a": true}')
    assert not verdict.ok
    assert verdict.versions_tried == (2, 1)
    assert [(e.path, e.code, e.version) for e in verdict.errors] == [("a", Reason.WRONG_TYPE, 2)]


def test_decode_failure_lists_the_versions_it_would_have_tried(orders: Subject) -> None:
    verdict = RecordValidator(orders, "all").validate(b"nope")
    assert verdict.versions_tried == (2, 1)
    assert verdict.reasons == ("not_json",)


def test_explicit_accepted_list_limits_the_versions_tried(orders: Subject) -> None:
    validator = RecordValidator(orders, [1])
    assert validator.validate(_enc(V1_ORDER)).versions_tried == (1,)
    verdict = validator.validate(_enc({**V1_ORDER, "channel": "web"}))
    assert not verdict.ok
    assert verdict.reasons == ("unknown_field",)


def test_explicit_accepted_list_is_tried_newest_first(orders: Subject) -> None:
    verdict = RecordValidator(orders, [1, 2]).validate(_enc({**V1_ORDER, "currency": "JPY"}))
    assert verdict.versions_tried == (2, 1)


def test_header_naming_an_active_version_outside_the_accepted_list_is_refused(
    orders: Subject,
) -> None:
    verdict = RecordValidator(orders, [2]).validate(_enc(V1_ORDER), b"1")
    assert not verdict.ok
    assert verdict.reasons == ("retired_version",)
    assert verdict.errors[0].version == 1


def test_accepted_list_naming_a_missing_version_is_a_config_error(orders: Subject) -> None:
    with pytest.raises(ConfigError, match=r"accepted versions \[3\] have no contract"):
        RecordValidator(orders, [2, 3])


RETIRED_V1 = "subject: s\nversion: 1\nstatus: retired\nfields: {a: {type: string}}\n"
ACTIVE_V2 = "subject: s\nversion: 2\nfields: {a: {type: integer}}\n"


def test_header_naming_a_retired_version_is_retired_version(tmp_path: Path) -> None:
    subject = _subject(tmp_path, "s", RETIRED_V1, ACTIVE_V2)
    verdict = RecordValidator(subject, "all").validate(b'{"a": "x"}', b"v1")
    assert not verdict.ok
    assert verdict.reasons == ("retired_version",)
    assert verdict.versions_tried == (1,)


def test_retired_version_is_not_tried_without_a_header(tmp_path: Path) -> None:
    subject = _subject(tmp_path, "s", RETIRED_V1, ACTIVE_V2)
    verdict = RecordValidator(subject, "all").validate(b'{"a": "x"}')
    assert not verdict.ok
    assert verdict.versions_tried == (2,)


def test_latest_skips_a_retired_newest_version(tmp_path: Path) -> None:
    subject = _subject(
        tmp_path,
        "s",
        "subject: s\nversion: 1\nfields: {a: {type: string}}\n",
        "subject: s\nversion: 2\nstatus: retired\nfields: {a: {type: integer}}\n",
    )
    verdict = RecordValidator(subject).validate(b'{"a": "x"}')
    assert (verdict.ok, verdict.versions_tried) == (True, (1,))


def test_retired_version_in_an_accepted_list_does_not_accept_headerless_records(
    tmp_path: Path,
) -> None:
    """A retired version refuses records that name it; it must not take those that do not."""
    subject = _subject(tmp_path, "s", RETIRED_V1, ACTIVE_V2)
    validator = RecordValidator(subject, [1, 2])
    assert validator.validate(b'{"a": "x"}', b"1").reasons == ("retired_version",)
    assert not validator.validate(b'{"a": "x"}').ok


def test_all_retired_subject_with_accepted_all_fails_at_construction(tmp_path: Path) -> None:
    """Rather than quarantining every record with no reason, refuse to start."""
    subject = _subject(tmp_path, "s", RETIRED_V1)
    with pytest.raises(ConfigError, match="no active version"):
        RecordValidator(subject, "all")


def test_latest_on_an_all_retired_subject_fails_at_construction(tmp_path: Path) -> None:
    subject = _subject(tmp_path, "s", RETIRED_V1)
    with pytest.raises(ConfigError, match="no active version"):
        RecordValidator(subject)


# --- unknown fields -----------------------------------------------------------------------------

POLICY = """\
subject: s
version: 1
unknown_fields: {policy}
fields:
  id: {{type: integer}}
  shipping:
    type: object
    required: false
    fields:
      country: {{type: string}}
  items:
    type: array
    required: false
    items:
      type: object
      fields:
        sku: {{type: string}}
"""

WITH_UNKNOWNS: dict[str, Any] = {
    "id": 1,
    "x": "top",
    "shipping": {"country": "DE", "x": "nested"},
    "items": [{"sku": "a", "y": 1}, {"sku": "b"}],
}


def _policy_validator(tmp_path: Path, policy: str) -> RecordValidator:
    return RecordValidator(_subject(tmp_path, "s", POLICY.format(policy=policy)))


def test_reject_policy_reports_every_unknown_field(tmp_path: Path) -> None:
    verdict = _policy_validator(tmp_path, "reject").validate(_enc(WITH_UNKNOWNS))
    assert not verdict.ok
    assert sorted((e.path, e.code) for e in verdict.errors) == [
        ("items[0].y", Reason.UNKNOWN_FIELD),
        ("shipping.x", Reason.UNKNOWN_FIELD),
        ("x", Reason.UNKNOWN_FIELD),
    ]


def test_allow_policy_passes_and_lists_unknown_paths(tmp_path: Path) -> None:
    value = _enc(WITH_UNKNOWNS)
    verdict = _policy_validator(tmp_path, "allow").validate(value)
    assert verdict.ok
    assert verdict.unknown_fields == ("items[].y", "shipping.x", "x")
    assert verdict.value is value


def test_allow_policy_on_a_clean_record_lists_nothing(tmp_path: Path) -> None:
    verdict = _policy_validator(tmp_path, "allow").validate(b'{"id": 1}')
    assert verdict.ok
    assert verdict.unknown_fields == ()


def test_strip_policy_removes_unknown_keys_at_every_level(tmp_path: Path) -> None:
    verdict = _policy_validator(tmp_path, "strip").validate(_enc(WITH_UNKNOWNS))
    assert verdict.ok
    assert verdict.unknown_fields == ("items[].y", "shipping.x", "x")
    assert verdict.value is not None
    assert json.loads(verdict.value) == {
        "id": 1,
        "shipping": {"country": "DE"},
        "items": [{"sku": "a"}, {"sku": "b"}],
    }
    for gone in (b'"x"', b'"y"', b"top", b"nested"):
        assert gone not in verdict.value


def test_strip_policy_keeps_non_ascii_text_intact(tmp_path: Path) -> None:
    value = _enc({"id": 1, "x": 1, "shipping": {"country": "Österreich ✓"}})
    verdict = _policy_validator(tmp_path, "strip").validate(value)
    assert verdict.value is not None
    assert json.loads(verdict.value) == {"id": 1, "shipping": {"country": "Österreich ✓"}}


def test_strip_policy_without_unknown_keys_forwards_the_original_bytes(tmp_path: Path) -> None:
    value = b'{ "id" : 1 ,  "shipping": {"country": "DE"} }'
    verdict = _policy_validator(tmp_path, "strip").validate(value)
    assert verdict.ok
    assert verdict.value is value


def test_strip_policy_survives_a_lone_surrogate_escape_in_kept_data(tmp_path: Path) -> None:
    """`\\ud800` is valid JSON and valid UTF-8; a record carrying it must get a verdict."""
    text = """\
    subject: s
    version: 1
    unknown_fields: allow
    fields:
      id: {type: integer}
      shipping:
        type: object
        required: false
        unknown_fields: strip
        fields:
          country: {type: string}
    """
    validator = RecordValidator(_subject(tmp_path, "s", text))
    value = b'{"id": 1, "note": "\\ud800", "shipping": {"country": "DE", "x": 1}}'
    verdict = validator.validate(value)
    assert isinstance(verdict, Verdict)
    assert validator.validate(b'{"id": 2}').ok


def test_nested_reject_override_under_allow_rejects_nested_unknowns(tmp_path: Path) -> None:
    text = """\
    subject: s
    version: 1
    unknown_fields: allow
    fields:
      id: {type: integer}
      shipping:
        type: object
        required: false
        unknown_fields: reject
        fields:
          country: {type: string}
    """
    validator = RecordValidator(_subject(tmp_path, "s", text))
    assert validator.validate(b'{"id": 1, "top": 1}').unknown_fields == ("top",)
    verdict = validator.validate(b'{"id": 1, "shipping": {"country": "DE", "x": 1}}')
    assert [(e.path, e.code) for e in verdict.errors] == [("shipping.x", Reason.UNKNOWN_FIELD)]


def test_nested_strip_override_under_reject_strips_only_there(tmp_path: Path) -> None:
    text = """\
    subject: s
    version: 1
    unknown_fields: reject
    fields:
      id: {type: integer}
      shipping:
        type: object
        required: false
        unknown_fields: strip
        fields:
          country: {type: string}
    """
    validator = RecordValidator(_subject(tmp_path, "s", text))
    verdict = validator.validate(b'{"id": 1, "shipping": {"country": "DE", "x": 1}}')
    assert verdict.ok
    assert verdict.unknown_fields == ("shipping.x",)
    assert verdict.value is not None
    assert json.loads(verdict.value) == {"id": 1, "shipping": {"country": "DE"}}
    assert validator.validate(b'{"id": 1, "top": 1}').reasons == ("unknown_field",)


def test_nested_allow_override_under_reject_reports_nested_unknowns(tmp_path: Path) -> None:
    text = """\
    subject: s
    version: 1
    unknown_fields: reject
    fields:
      id: {type: integer}
      shipping:
        type: object
        required: false
        unknown_fields: allow
        fields:
          country: {type: string}
    """
    validator = RecordValidator(_subject(tmp_path, "s", text))
    verdict = validator.validate(b'{"id": 1, "shipping": {"country": "DE", "x": 1}}')
    assert verdict.ok
    assert verdict.unknown_fields == ("shipping.x",)


def test_latest_refuses_a_header_naming_an_older_active_version(orders: Subject) -> None:
    """`accepted_versions: latest` binds the version header too (issue 8 item 3)."""
    verdict = RecordValidator(orders, "latest").validate(_enc(V1_ORDER), b"1")
    assert verdict.reasons == ("retired_version",)
    assert "not accepted here (accepted: latest)" in verdict.errors[0].message


def test_all_accepts_a_header_naming_an_older_active_version(orders: Subject) -> None:
    verdict = RecordValidator(orders, "all").validate(_enc(V1_ORDER), b"1")
    assert (verdict.ok, verdict.version) == (True, 1)


V2_ORDER = {**V1_ORDER, "channel": "web"}


@pytest.mark.parametrize(
    ("literal", "code"),
    [
        (b"1e400", Reason.OUT_OF_RANGE),
        (b"1180591620717411303424", Reason.OUT_OF_RANGE),
        (b'"\\ud800"', Reason.LONE_SURROGATE),
    ],
)
def test_poison_in_an_undeclared_field_is_rejected_under_allow(
    orders: Subject, literal: bytes, code: Reason
) -> None:
    """Issue 8 item 10: v2 allows unknown fields, but not poison in them."""
    value = _enc(V2_ORDER)[:-1] + b', "note": ' + literal + b"}"
    verdict = RecordValidator(orders).validate(value)
    assert [(e.path, e.code) for e in verdict.errors] == [("note", code)]


def test_a_lone_surrogate_in_a_declared_string_is_lone_surrogate(orders: Subject) -> None:
    value = _enc({**V2_ORDER, "currency": "EU"}).replace(b'"EU"', b'"EU\\udc00"')
    verdict = RecordValidator(orders).validate(value)
    assert [(e.path, e.code) for e in verdict.errors] == [("currency", Reason.LONE_SURROGATE)]
