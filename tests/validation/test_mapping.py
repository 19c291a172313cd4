"""Mapping pydantic errors to stable reason codes and dotted paths."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from guard.contracts.compile import compile_model
from guard.contracts.spec import ContractSpec
from guard.validation import FieldError, Reason
from guard.validation.mapping import map_errors

FIELDS: dict[str, Any] = {
    "n": {"type": "integer", "minimum": 0, "maximum": 10, "required": False},
    "x": {"type": "number", "exclusive_minimum": 0, "exclusive_maximum": 1, "required": False},
    "s": {"type": "string", "min_length": 2, "max_length": 3, "required": False},
    "p": {"type": "string", "pattern": "^[a-z]+$", "required": False},
    "e": {"type": "string", "enum": ["a", "b"], "required": False},
    "f": {"type": "string", "format": "email", "required": False},
    "t": {"type": "array", "items": {"type": "integer"}, "min_items": 1, "required": False},
    "o": {
        "type": "object",
        "required": False,
        "fields": {
            "lines": {
                "type": "array",
                "items": {"type": "object", "fields": {"sku": {"type": "string"}}},
            }
        },
    },
}


@pytest.fixture(scope="module")
def model() -> type[BaseModel]:
    spec = ContractSpec.model_validate({"subject": "m", "version": 4, "fields": FIELDS})
    return compile_model(spec)


def _errors(model: type[BaseModel], obj: dict[str, Any]) -> list[ErrorDetails]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(obj)
    return info.value.errors(include_url=False, include_context=False)


def _mapped(
    model: type[BaseModel], obj: dict[str, Any], expose: bool = False
) -> tuple[FieldError, ...]:
    return map_errors(_errors(model, obj), 4, expose)


@pytest.mark.parametrize(
    ("obj", "code"),
    [
        ({"n": 11}, Reason.OUT_OF_RANGE),
        ({"n": -1}, Reason.OUT_OF_RANGE),
        ({"x": 0}, Reason.OUT_OF_RANGE),
        ({"x": 1}, Reason.OUT_OF_RANGE),
        ({"x": float("nan")}, Reason.OUT_OF_RANGE),
        ({"s": "a"}, Reason.BAD_LENGTH),
        ({"s": "abcd"}, Reason.BAD_LENGTH),
        ({"t": []}, Reason.BAD_LENGTH),
        ({"p": "ABC"}, Reason.PATTERN_MISMATCH),
        ({"e": "c"}, Reason.NOT_IN_ENUM),
        ({"f": "nope"}, Reason.BAD_FORMAT),
        ({"n": "1"}, Reason.WRONG_TYPE),
        ({"t": "1"}, Reason.WRONG_TYPE),
        ({"o": []}, Reason.WRONG_TYPE),
        ({"n": None}, Reason.NULL_NOT_ALLOWED),
        ({"o": None}, Reason.NULL_NOT_ALLOWED),
        ({"zz": 1}, Reason.UNKNOWN_FIELD),
        ({"o": {}}, Reason.MISSING_FIELD),
    ],
)
def test_pydantic_error_maps_to_reason(
    model: type[BaseModel], obj: dict[str, Any], code: Reason
) -> None:
    assert [e.code for e in _mapped(model, obj)] == [code]


def test_unmapped_error_type_becomes_invalid() -> None:
    detail: ErrorDetails = {"type": "something_new", "loc": ("a",), "msg": "odd", "input": 1}
    assert map_errors([detail], 1, False) == (FieldError("a", Reason.INVALID, "odd", 1, None),)


def test_null_message_is_fixed_text(model: type[BaseModel]) -> None:
    assert _mapped(model, {"n": None})[0].message == "null is not allowed"


def test_paths_use_dots_for_keys_and_brackets_for_indexes(model: type[BaseModel]) -> None:
    errors = _mapped(model, {"o": {"lines": [{"sku": "a"}, {"sku": 1}]}, "t": [1, "x"]})
    assert sorted(e.path for e in errors) == ["o.lines[1].sku", "t[1]"]


def test_every_error_carries_the_version(model: type[BaseModel]) -> None:
    errors = _mapped(model, {"n": 11, "s": "a"})
    assert {e.version for e in errors} == {4}


def test_values_are_hidden_unless_exposed(model: type[BaseModel]) -> None:
    assert _mapped(model, {"p": "SECRET"})[0].value is None
    assert _mapped(model, {"p": "SECRET"}, expose=True)[0].value == "'SECRET'"


def test_exposed_values_are_truncated_to_200_characters(model: type[BaseModel]) -> None:
    shown = _mapped(model, {"zz": "a" * 1000}, expose=True)[0].value
    assert shown == ("'" + "a" * 1000)[:200]


def test_missing_fields_never_carry_a_value(model: type[BaseModel]) -> None:
    errors = _mapped(model, {"o": {}}, expose=True)
    assert [(e.code, e.value) for e in errors] == [(Reason.MISSING_FIELD, None)]


def test_field_error_json_omits_unset_version_and_value() -> None:
    err = FieldError("", Reason.NOT_JSON, "bad")
    assert err.to_json() == {"field": "", "code": "not_json", "message": "bad"}


def test_field_error_json_includes_version_and_value_when_set() -> None:
    err = FieldError("a.b", Reason.WRONG_TYPE, "m", 2, "'v'")
    assert err.to_json() == {
        "field": "a.b",
        "code": "wrong_type",
        "message": "m",
        "version": 2,
        "value": "'v'",
    }


def test_reason_codes_are_stable_strings() -> None:
    assert {r.value for r in Reason} == {
        "empty_value",
        "null_value",
        "too_large",
        "not_utf8",
        "lone_surrogate",
        "malformed_header",
        "not_json",
        "too_deep",
        "not_finite",
        "duplicate_key",
        "not_object",
        "bad_frame",
        "too_large_for_target",
        "timestamp_outside_target",
        "truncated_frame",
        "unknown_schema_id",
        "not_avro",
        "unknown_version",
        "retired_version",
        "ambiguous_version",
        "missing_field",
        "null_not_allowed",
        "wrong_type",
        "out_of_range",
        "not_in_enum",
        "pattern_mismatch",
        "bad_length",
        "bad_format",
        "unknown_field",
        "rule_failed",
        "rule_error",
        "invalid",
    }
