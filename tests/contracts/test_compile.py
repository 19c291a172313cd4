"""Compiling a contract spec into the strict pydantic model used per record."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from guard.contracts import load_registry
from guard.contracts.compile import compile_checker, compile_model
from guard.contracts.formats import is_datetime
from guard.contracts.spec import INT64_MAX, INT64_MIN, ContractSpec
from guard.demo.samples import good_order
from guard.validation.mapping import map_errors
from guard.validation.reasons import Reason
from tests.fixtures.paths import SCHEMAS

# Every model these tests build, with its spec: the helpers below also run the hot-path
# checker compiled from the same spec and require the very same errors.
_SPECS: dict[type[BaseModel], ContractSpec] = {}


def _model(fields: dict[str, Any], **top: Any) -> type[BaseModel]:
    spec = ContractSpec.model_validate(
        {"subject": "my-subject", "version": 3, **top, "fields": fields}
    )
    model = compile_model(spec)
    _SPECS[model] = spec
    return model


def _errors(
    validate: Callable[[Any], Any], obj: dict[str, Any]
) -> list[tuple[str, tuple[Any, ...]]]:
    try:
        validate(obj)
    except ValidationError as exc:
        return [(e["type"], e["loc"]) for e in exc.errors()]
    return []


def _judge(model: type[BaseModel], obj: dict[str, Any]) -> list[tuple[str, tuple[Any, ...]]]:
    """The model's errors (type, location), once the checker was seen to agree."""
    errors = _errors(model.model_validate, obj)
    assert _errors(compile_checker(_SPECS[model]), obj) == errors, "checker and model agree"
    return errors


def _error_types(model: type[BaseModel], obj: dict[str, Any]) -> list[str]:
    errors = _judge(model, obj)
    assert errors, "the record fails"
    return [etype for etype, _ in errors]


def _passes(model: type[BaseModel], obj: dict[str, Any]) -> bool:
    return not _judge(model, obj)


def test_model_name_is_camel_cased_subject_and_version() -> None:
    assert _model({"a": {"type": "string"}}).__name__ == "MySubjectV3"


def test_field_description_is_kept() -> None:
    model = _model({"a": {"type": "string", "description": "the a"}})
    [field] = [f for f in model.model_fields.values() if f.alias == "a"]
    assert field.description == "the a"


# --- strict primitive types -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["42", 42.0, True])
def test_integer_rejects_non_integers(value: Any) -> None:
    assert _error_types(_model({"n": {"type": "integer"}}), {"n": value}) == ["int_type"]


@pytest.mark.parametrize("value", ["12.50", True, None])
def test_number_rejects_strings_booleans_and_null(value: Any) -> None:
    assert len(_error_types(_model({"x": {"type": "number"}}), {"x": value})) == 1


def test_number_accepts_an_integer() -> None:
    assert _passes(_model({"x": {"type": "number"}}), {"x": 3})


@pytest.mark.parametrize("value", [1, 0, "true"])
def test_boolean_rejects_non_booleans(value: Any) -> None:
    assert _error_types(_model({"b": {"type": "boolean"}}), {"b": value}) == ["bool_type"]


def test_string_rejects_a_number() -> None:
    assert _error_types(_model({"s": {"type": "string"}}), {"s": 5}) == ["string_type"]


def test_integer_defaults_to_int64_range() -> None:
    model = _model({"n": {"type": "integer"}})
    assert _passes(model, {"n": INT64_MAX})
    assert _passes(model, {"n": INT64_MIN})
    assert _error_types(model, {"n": INT64_MAX + 1}) == ["less_than_equal"]
    assert _error_types(model, {"n": INT64_MIN - 1}) == ["greater_than_equal"]


def test_integer_explicit_range_replaces_int64_default() -> None:
    model = _model({"n": {"type": "integer", "minimum": 1, "maximum": 10}})
    assert _passes(model, {"n": 10})
    assert _error_types(model, {"n": 11}) == ["less_than_equal"]
    assert _error_types(model, {"n": 0}) == ["greater_than_equal"]


def test_exclusive_bounds_exclude_the_bound() -> None:
    model = _model({"x": {"type": "number", "exclusive_minimum": 0, "exclusive_maximum": 1}})
    assert _passes(model, {"x": 0.5})
    assert _error_types(model, {"x": 0}) == ["greater_than"]
    assert _error_types(model, {"x": 1}) == ["less_than"]


def test_number_rejects_infinity() -> None:
    assert _error_types(_model({"x": {"type": "number"}}), {"x": float("inf")}) == ["finite_number"]


# --- required / nullable --------------------------------------------------------------------


def test_required_field_missing_fails() -> None:
    assert _error_types(_model({"a": {"type": "string"}}), {}) == ["missing"]


def test_optional_field_may_be_absent() -> None:
    assert _passes(_model({"a": {"type": "string", "required": False}}), {})


def test_optional_non_nullable_field_rejects_explicit_null() -> None:
    model = _model({"a": {"type": "string", "required": False}})
    assert _error_types(model, {"a": None}) == ["string_type"]


def test_nullable_field_accepts_null() -> None:
    assert _passes(_model({"a": {"type": "integer", "nullable": True}}), {"a": None})


def test_nullable_required_field_must_still_be_present() -> None:
    assert _error_types(_model({"a": {"type": "integer", "nullable": True}}), {}) == ["missing"]


def test_nullable_array_items_accept_null_items() -> None:
    model = _model({"t": {"type": "array", "items": {"type": "string", "nullable": True}}})
    assert _passes(model, {"t": ["a", None]})


def test_non_nullable_array_items_reject_null_items() -> None:
    model = _model({"t": {"type": "array", "items": {"type": "string"}}})
    assert _error_types(model, {"t": ["a", None]}) == ["string_type"]


# --- strings ----------------------------------------------------------------------------------


def test_string_length_bounds() -> None:
    model = _model({"s": {"type": "string", "min_length": 2, "max_length": 3}})
    assert _passes(model, {"s": "abc"})
    assert _error_types(model, {"s": "a"}) == ["string_too_short"]
    assert _error_types(model, {"s": "abcd"}) == ["string_too_long"]


def test_pattern_is_enforced() -> None:
    model = _model({"s": {"type": "string", "pattern": "^[A-Z]{2}$"}})
    assert _passes(model, {"s": "DE"})
    assert _error_types(model, {"s": "de"}) == ["string_pattern_mismatch"]


def test_enum_is_enforced_with_a_typed_error() -> None:
    model = _model({"c": {"type": "string", "enum": ["EUR", "USD"]}})
    assert _passes(model, {"c": "EUR"})
    assert _error_types(model, {"c": "JPY"}) == ["not_in_enum"]


def test_integer_enum_is_enforced() -> None:
    model = _model({"n": {"type": "integer", "enum": [1, 2]}})
    assert _passes(model, {"n": 2})
    assert _error_types(model, {"n": 3}) == ["not_in_enum"]


def test_nullable_enum_accepts_null() -> None:
    assert _passes(_model({"c": {"type": "string", "enum": ["a"], "nullable": True}}), {"c": None})


# --- arrays and objects -----------------------------------------------------------------------


def test_array_item_count_bounds() -> None:
    model = _model(
        {"t": {"type": "array", "items": {"type": "integer"}, "min_items": 1, "max_items": 2}}
    )
    assert _passes(model, {"t": [1, 2]})
    assert _error_types(model, {"t": []}) == ["too_short"]
    assert _error_types(model, {"t": [1, 2, 3]}) == ["too_long"]


def test_array_items_are_checked() -> None:
    model = _model({"t": {"type": "array", "items": {"type": "integer", "minimum": 0}}})
    assert _error_types(model, {"t": [1, -1]}) == ["greater_than_equal"]


def test_nested_object_fields_are_checked() -> None:
    model = _model({"o": {"type": "object", "fields": {"n": {"type": "integer"}}}})
    assert _passes(model, {"o": {"n": 1}})
    assert _error_types(model, {"o": {"n": "1"}}) == ["int_type"]


def test_reject_policy_forbids_extra_keys() -> None:
    model = _model({"a": {"type": "string"}}, unknown_fields="reject")
    assert _error_types(model, {"a": "x", "b": 1}) == ["extra_forbidden"]


@pytest.mark.parametrize("policy", ["allow", "strip"])
def test_allow_and_strip_policies_let_extra_keys_pass(policy: str) -> None:
    assert _passes(_model({"a": {"type": "string"}}, unknown_fields=policy), {"a": "x", "b": 1})


def test_nested_object_inherits_the_parent_policy() -> None:
    model = _model(
        {"o": {"type": "object", "fields": {"n": {"type": "integer"}}}}, unknown_fields="reject"
    )
    assert _error_types(model, {"o": {"n": 1, "extra": 1}}) == ["extra_forbidden"]


def test_nested_object_override_wins_over_the_parent_policy() -> None:
    model = _model(
        {
            "o": {
                "type": "object",
                "unknown_fields": "allow",
                "fields": {"n": {"type": "integer"}},
            }
        },
        unknown_fields="reject",
    )
    assert _passes(model, {"o": {"n": 1, "extra": 1}})
    assert _error_types(model, {"o": {"n": 1}, "extra": 1}) == ["extra_forbidden"]


def test_array_item_objects_follow_their_own_override() -> None:
    model = _model(
        {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "unknown_fields": "reject",
                    "fields": {"sku": {"type": "string"}},
                },
            }
        },
        unknown_fields="allow",
    )
    assert _passes(model, {"items": [{"sku": "a"}], "extra": 1})
    assert _error_types(model, {"items": [{"sku": "a", "y": 1}]}) == ["extra_forbidden"]


# --- formats ------------------------------------------------------------------------------------


def _format_model(fmt: str) -> type[BaseModel]:
    return _model({"v": {"type": "string", "format": fmt}})


@pytest.mark.parametrize(
    ("fmt", "value"),
    [
        ("uuid", "123e4567-e89b-42d3-a456-426614174000"),
        ("email", "first.last+tag@example.co.uk"),
        ("date-time", "2026-11-03T10:15:00Z"),
        ("date-time", "2026-11-03T10:15:00.123+01:00"),
        ("date", "2026-11-03"),
        ("uri", "https://example.com/a?b=c"),
        ("uri", "mailto:someone@example.com"),
    ],
)
def test_valid_format_values_pass(fmt: str, value: str) -> None:
    assert _passes(_format_model(fmt), {"v": value})


@pytest.mark.parametrize(
    ("fmt", "value"),
    [
        ("uuid", "not-a-uuid"),
        ("uuid", "123e4567-e89b-42d3-a456-42661417400"),
        ("email", "no-at-sign.example.com"),
        ("email", "two@@example.com"),
        ("email", "trailing@"),
        ("date-time", "yesterday"),
        ("date-time", "2026-13-03T10:15:00Z"),
        ("date", "2026-02-30"),
        ("date", "03/11/2026"),
        ("uri", "not a uri"),
        ("uri", "http://"),
        ("uri", "http://[::1"),
    ],
)
def test_invalid_format_values_fail_with_bad_format(fmt: str, value: str) -> None:
    assert _error_types(_format_model(fmt), {"v": value}) == ["bad_format"]


@pytest.mark.parametrize(
    "value",
    [
        "http://exa mple.com",
        "http://example.com/<script>",
        "http://example.com/a\nb",
        "http://example.com/\x00",
        "https://例え.jp/",
        "http://example.com/%zz",
        "http://example.com/{a}|b",
        "http://[::g]/",
    ],
)
def test_uri_format_refuses_characters_rfc_3986_does_not_allow(value: str) -> None:
    # What JSON Schema's `uri` means; urlsplit alone accepted every one of these.
    assert _error_types(_format_model("uri"), {"v": value}) == ["bad_format"]
    spec = ContractSpec.model_validate(
        {"subject": "s", "version": 1, "fields": {"v": {"type": "string", "format": "uri"}}}
    )
    with pytest.raises(ValidationError):
        compile_checker(spec)({"v": value})


@pytest.mark.parametrize(
    "value", ["urn:isbn:0451450523", "http://[::1]:8080/x", "file:///etc/hosts", "http://x/%20"]
)
def test_uri_format_accepts_rfc_3986_uris(value: str) -> None:
    assert _passes(_format_model("uri"), {"v": value})


def test_timestamp_type_checks_date_time_format() -> None:
    model = _model({"t": {"type": "timestamp"}})
    assert _passes(model, {"t": "2026-11-03T10:15:00Z"})
    assert _error_types(model, {"t": "soon"}) == ["bad_format"]


def test_date_type_checks_date_format() -> None:
    model = _model({"d": {"type": "date"}})
    assert _passes(model, {"d": "2026-11-03"})
    assert _error_types(model, {"d": "2026-11-03T10:15:00Z"}) == ["bad_format"]


def test_checked_formats_keep_the_original_string() -> None:
    model = _model({"t": {"type": "timestamp"}, "d": {"type": "date"}})
    record = model.model_validate({"t": "2026-11-03T10:15:00Z", "d": "2026-11-03"})
    assert record.model_dump(by_alias=True) == {"t": "2026-11-03T10:15:00Z", "d": "2026-11-03"}


def test_bad_format_message_does_not_echo_the_value() -> None:
    with pytest.raises(ValidationError) as info:
        _format_model("email").model_validate({"v": "secret-7f3a"})
    assert "secret-7f3a" not in info.value.errors()[0]["msg"]


# The exported JSON Schema declares these fields as `format: date` / `date-time` / `uuid`
# (RFC 3339 full-date and date-time, RFC 4122 hyphenated UUID); the date check's own message
# says "YYYY-MM-DD". Spellings outside those grammars must not pass.


@pytest.mark.parametrize("value", ["20261103", "2026-W45-2", "2026-W45"])
def test_date_format_rejects_non_yyyy_mm_dd_spellings(value: str) -> None:
    assert _error_types(_model({"d": {"type": "date"}}), {"d": value}) == ["bad_format"]


@pytest.mark.parametrize("value", ["2026-11-03", "2026-W45-2", "20261103"])
def test_timestamp_rejects_values_without_a_time(value: str) -> None:
    assert _error_types(_model({"t": {"type": "timestamp"}}), {"t": value}) == ["bad_format"]


@pytest.mark.parametrize("value", ["2026-11-03T10:15:00+00:60", "2026-11-03T10:15:00-05:99"])
def test_timestamp_rejects_an_offset_minute_past_59(value: str) -> None:
    # RFC 3339 time-minute is 00-59; fromisoformat alone would read +00:60 as one hour.
    assert _error_types(_model({"t": {"type": "timestamp"}}), {"t": value}) == ["bad_format"]


@pytest.mark.parametrize(
    "value",
    [
        "123e4567e89b42d3a456426614174000",
        "{123e4567-e89b-42d3-a456-426614174000}",
        "urn:uuid:123e4567-e89b-42d3-a456-426614174000",
    ],
)
def test_uuid_format_rejects_non_canonical_spellings(value: str) -> None:
    assert _error_types(_format_model("uuid"), {"v": value}) == ["bad_format"]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
_ORDERS = load_registry(SCHEMAS).subjects["orders"]


def _verdict(validate: Callable[[Any], Any], record: dict[str, Any]) -> list[tuple[str, ...]]:
    """What the quarantine envelope would say: path, reason code, and the message, except for
    an object's type error (the model's message names its internal class; the checker's not)."""
    try:
        validate(record)
    except ValidationError as exc:
        errors = map_errors(exc.errors(include_url=False, include_context=False), 1, False)
        return [
            (e.path, e.code.value, "" if e.code is Reason.WRONG_TYPE else e.message) for e in errors
        ]
    return []


@pytest.mark.parametrize("version", [1, 2])
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_the_checker_and_the_model_give_the_same_verdict_on_any_order(
    version: int, data: st.DataObject
) -> None:
    contract = _ORDERS.versions[version]
    record: dict[str, Any] = good_order(random.Random(data.draw(st.integers(0, 99))), version)
    record["items"] = [{"sku": "SKU-1", "qty": 1}, {"sku": "SKU-2", "qty": 2}]
    record["shipping"] = {"country": "DE", "postcode": "10115"}
    for name in data.draw(st.lists(st.sampled_from([*record, "extra"]), max_size=3)):
        record[name] = data.draw(_JSON)
    if data.draw(st.booleans()) and isinstance(record.get("items"), list) and record["items"]:
        record["items"][0] = data.draw(_JSON | st.just({"sku": "", "qty": 0, "x": 1}))
    if data.draw(st.booleans()):
        record.pop(data.draw(st.sampled_from(sorted(record))), None)
    assert _verdict(contract.check, record) == _verdict(contract.model.model_validate, record)


_A_UUID = "6f1c7c4e-2b1a-4c8e-9d3a-1b2c3d4e5f60"
_NATIVE_FIELDS: dict[str, Any] = {
    "id": {"type": "string", "format": "uuid"},
    "mail": {"type": "string", "format": "email", "required": False},
    "cur": {"type": "string", "enum": ["EUR", "USD", "é", ""], "nullable": True},
    # A format and an enum on one field: the enum reads what the format check hands on.
    "at": {
        "type": "timestamp",
        "enum": ["2026-01-01T00:00:00Z", "2026-06-30T12:00:00+02:00"],
        "required": False,
    },
    "at2": {"type": "string", "format": "date-time", "enum": ["2026-01-01T00:00:00Z"]},
    "id2": {"type": "string", "format": "uuid", "enum": [_A_UUID], "required": False},
}
_HEX = st.text(alphabet="0123456789abcdefABCDEFgG-\n", min_size=30, max_size=40)
_FIELD_VALUES = st.one_of(
    st.uuids().map(str),
    st.tuples(st.text(max_size=2), st.uuids(), st.text(max_size=2)).map(
        lambda t: f"{t[0]}{str(t[1]).upper()}{t[2]}"
    ),
    _HEX,
    st.emails(),
    st.tuples(st.text(max_size=2), st.emails(), st.text(max_size=2)).map("".join),
    st.text(max_size=12),
    st.sampled_from(["EUR", "eur", "USD ", "é", "", "GBP", "2026-01-01T00:00:00Z", _A_UUID]),
    st.integers(),
    st.none(),
)


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(list(_NATIVE_FIELDS)), _FIELD_VALUES))
def test_formats_and_enums_checked_by_pydantic_core_fail_as_the_python_checks_do(
    record: dict[str, Any],
) -> None:
    """uuid, email and string enums run inside pydantic-core on the hot path (no Python call
    per value); the model keeps the Python checks. Same verdict, error type, place, message."""
    spec = ContractSpec.model_validate({"subject": "s", "version": 1, "fields": _NATIVE_FIELDS})

    def errors(validate: Callable[[Any], Any]) -> list[tuple[Any, ...]]:
        try:
            validate(record)
        except ValidationError as exc:
            return [(e["type"], e["loc"], e["msg"]) for e in exc.errors()]
        return []

    assert errors(compile_checker(spec)) == errors(compile_model(spec).model_validate)


_DATETIME_TEXT = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.text(alphabet="0123456789-:T.Zzt+ ", min_size=19, max_size=32),
    st.from_regex(
        r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d{1,9})?([Zz]|[+-]\d\d:\d\d)", fullmatch=True
    ),
)


@settings(max_examples=300)
@given(_DATETIME_TEXT)
def test_the_timestamp_check_agrees_with_is_datetime(text: str) -> None:
    model = _model({"at": {"type": "timestamp"}})
    assert _passes(model, {"at": text}) == is_datetime(text)
