"""The contract file format models: what a contract may and may not say."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from guard.contracts.spec import ContractSpec, FieldSpec


def _field(**kw: Any) -> FieldSpec:
    return FieldSpec.model_validate(kw)


def _problem(**kw: Any) -> str:
    with pytest.raises(ValidationError) as info:
        FieldSpec.model_validate(kw)
    return str(info.value)


def test_minimal_contract_gets_active_status_and_reject_policy() -> None:
    spec = ContractSpec.model_validate(
        {"subject": "orders", "version": 1, "fields": {"id": {"type": "integer"}}}
    )
    assert spec.status == "active"
    assert spec.unknown_fields == "reject"
    assert spec.fields["id"].required is True
    assert spec.fields["id"].nullable is False


def test_retired_status_is_accepted() -> None:
    spec = ContractSpec.model_validate(
        {"subject": "s", "version": 3, "status": "retired", "fields": {"a": {"type": "string"}}}
    )
    assert spec.status == "retired"


def test_unknown_status_is_rejected() -> None:
    with pytest.raises(ValidationError, match="status"):
        ContractSpec.model_validate(
            {"subject": "s", "version": 1, "status": "gone", "fields": {"a": {"type": "string"}}}
        )


def test_version_zero_is_rejected() -> None:
    with pytest.raises(ValidationError, match="version"):
        ContractSpec.model_validate(
            {"subject": "s", "version": 0, "fields": {"a": {"type": "string"}}}
        )


def test_subject_with_a_slash_is_rejected() -> None:
    with pytest.raises(ValidationError, match="subject"):
        ContractSpec.model_validate(
            {"subject": "a/b", "version": 1, "fields": {"a": {"type": "string"}}}
        )


def test_contract_without_fields_is_rejected() -> None:
    with pytest.raises(ValidationError, match="fields"):
        ContractSpec.model_validate({"subject": "s", "version": 1, "fields": {}})


def test_unknown_top_level_key_is_rejected() -> None:
    with pytest.raises(ValidationError, match="bogus"):
        ContractSpec.model_validate(
            {"subject": "s", "version": 1, "bogus": 1, "fields": {"a": {"type": "string"}}}
        )


def test_top_level_field_name_with_space_is_rejected() -> None:
    with pytest.raises(ValidationError, match="field name 'bad name'"):
        ContractSpec.model_validate(
            {"subject": "s", "version": 1, "fields": {"bad name": {"type": "string"}}}
        )


def test_nested_field_name_with_dot_is_rejected() -> None:
    assert "field name 'a.b'" in _problem(type="object", fields={"a.b": {"type": "string"}})


def test_unknown_type_name_is_rejected() -> None:
    assert "type" in _problem(type="str")


def test_unknown_key_in_field_spec_is_rejected() -> None:
    assert "maxlen" in _problem(type="string", maxlen=3)


def test_pattern_on_integer_is_rejected() -> None:
    assert "apply only to string fields, not integer" in _problem(type="integer", pattern="^1$")


def test_format_on_number_is_rejected() -> None:
    assert "apply only to string fields, not number" in _problem(type="number", format="uuid")


def test_unsupported_format_is_rejected() -> None:
    assert "format" in _problem(type="string", format="ipv4")


def test_range_on_string_is_rejected() -> None:
    assert "numeric ranges apply only to integer/number" in _problem(type="string", minimum=1)


def test_minimum_greater_than_maximum_is_rejected() -> None:
    assert "minimum (5) is greater than maximum (1)" in _problem(
        type="integer", minimum=5, maximum=1
    )


@pytest.mark.parametrize(
    "rule",
    [
        {"minimum": math.nan},
        {"maximum": math.inf},
        {"exclusive_minimum": -math.inf},
        {"exclusive_maximum": math.nan},
        {"enum": [1.5, math.nan]},
    ],
)
def test_non_finite_bound_or_enum_value_is_rejected(rule: dict[str, float]) -> None:
    assert "must be finite numbers" in _problem(type="number", **rule)


@pytest.mark.parametrize(
    ("kind", "bounds"),
    [
        ("number", {"exclusive_minimum": 5, "maximum": 5}),
        ("number", {"minimum": 5, "exclusive_maximum": 5}),
        ("number", {"exclusive_minimum": 10, "exclusive_maximum": 2}),
        ("integer", {"exclusive_minimum": 4, "exclusive_maximum": 5}),
        ("integer", {"minimum": 5, "exclusive_maximum": 5}),
    ],
)
def test_bounds_no_value_can_meet_are_rejected(kind: str, bounds: dict[str, int]) -> None:
    assert "no value fits both" in _problem(type=kind, **bounds)


def test_exclusive_bounds_with_room_between_are_allowed() -> None:
    assert _field(type="number", exclusive_minimum=4, exclusive_maximum=5).exclusive_maximum == 5
    assert _field(type="integer", exclusive_minimum=4, exclusive_maximum=6).exclusive_minimum == 4


def test_minimum_equal_to_maximum_is_allowed() -> None:
    assert _field(type="number", minimum=2, maximum=2).maximum == 2


def test_min_length_greater_than_max_length_is_rejected() -> None:
    assert "min_length (4) is greater than max_length (2)" in _problem(
        type="string", min_length=4, max_length=2
    )


def test_negative_min_length_is_rejected() -> None:
    assert "min_length" in _problem(type="string", min_length=-1)


def test_min_items_greater_than_max_items_is_rejected() -> None:
    assert "min_items (3) is greater than max_items (1)" in _problem(
        type="array", items={"type": "string"}, min_items=3, max_items=1
    )


def test_invalid_regex_is_rejected() -> None:
    assert "pattern is not a valid regular expression" in _problem(type="string", pattern="([a-")


def test_string_values_in_integer_enum_are_rejected() -> None:
    assert "enum values ['a'] are not of type integer" in _problem(type="integer", enum=[1, "a"])


def test_float_value_in_integer_enum_is_rejected() -> None:
    assert "not of type integer" in _problem(type="integer", enum=[1.5])


def test_boolean_value_in_integer_enum_is_rejected() -> None:
    assert "not of type integer" in _problem(type="integer", enum=[True])


def test_integer_value_in_boolean_enum_is_rejected() -> None:
    assert "not of type boolean" in _problem(type="boolean", enum=[1])


def test_boolean_value_in_number_enum_is_rejected() -> None:
    assert "not of type number" in _problem(type="number", enum=[True])


def test_number_value_in_string_enum_is_rejected() -> None:
    assert "not of type string" in _problem(type="string", enum=[1])


@pytest.mark.parametrize(
    ("rule", "refusal"),
    [
        (
            {"type": "integer", "enum": [1, 5, 50], "maximum": 10},
            "50 can never pass: above maximum (10)",
        ),
        (
            {"type": "number", "enum": [-0.5, 2], "minimum": 0},
            "-0.5 can never pass: below minimum (0)",
        ),
        (
            {"type": "integer", "enum": [0, 1], "exclusive_minimum": 0},
            "0 can never pass: not above exclusive_minimum (0)",
        ),
        (
            {"type": "number", "enum": [1, 9.5], "exclusive_maximum": 9.5},
            "9.5 can never pass: not below exclusive_maximum (9.5)",
        ),
        (
            {"type": "string", "enum": ["EU", "EUR"], "max_length": 2},
            "'EUR' can never pass: longer than max_length (2)",
        ),
        (
            {"type": "string", "enum": ["", "EU"], "min_length": 1},
            "'' can never pass: shorter than min_length (1)",
        ),
        (
            {"type": "string", "enum": ["EU", "eu"], "pattern": "^[A-Z]+$"},
            "'eu' can never pass: does not match pattern '^[A-Z]+$'",
        ),
        (
            {"type": "string", "enum": ["a@b.io", "nobody"], "format": "email"},
            "'nobody' can never pass: not a valid email",
        ),
    ],
)
def test_an_enum_value_the_fields_own_constraints_refuse_is_rejected(
    rule: dict[str, Any], refusal: str
) -> None:
    assert f"enum value {refusal}" in _problem(**rule)


def test_enum_values_within_the_fields_constraints_are_allowed() -> None:
    assert _field(type="integer", enum=[1, 10], minimum=1, maximum=10).enum == [1, 10]
    assert _field(type="string", enum=["EU"], max_length=2, pattern="[A-Z]").enum == ["EU"]


@pytest.mark.parametrize(
    ("rule", "refusal"),
    [
        (
            {"type": "timestamp", "enum": ["2026-11-21T09:15:00Z", "yesterday"]},
            "'yesterday' can never pass: not a valid date-time",
        ),
        (
            {"type": "date", "enum": ["2026-11-21", "2026-02-30"]},
            "'2026-02-30' can never pass: not a valid date",
        ),
    ],
)
def test_an_enum_value_a_timestamp_or_date_field_refuses_is_rejected(
    rule: dict[str, Any], refusal: str
) -> None:
    assert f"enum value {refusal}" in _problem(**rule)


def test_valid_timestamps_and_dates_in_enum_are_allowed() -> None:
    stamps = ["2026-11-21T09:15:00Z", "2026-11-21t09:15:00.5+01:00"]
    assert _field(type="timestamp", enum=stamps).enum == stamps
    assert _field(type="date", enum=["2024-02-29"]).enum == ["2024-02-29"]


def test_integer_values_in_number_enum_are_allowed() -> None:
    assert _field(type="number", enum=[1, 2.5]).enum == [1, 2.5]


def test_an_enum_value_the_record_checks_regex_engine_refuses_is_rejected() -> None:
    """Python's `re` lets `$` match before a final newline; the record check's engine (Rust
    regex, in pydantic-core) does not, so no record could carry 'abc\\n'."""
    problem = _problem(type="string", enum=["abc", "abc\n"], pattern="^abc$")
    assert "enum value 'abc\\n' can never pass: does not match pattern '^abc$'" in problem


@pytest.mark.filterwarnings("ignore:Possible nested set:FutureWarning")  # from `re`
def test_an_enum_value_the_record_checks_regex_engine_accepts_is_allowed() -> None:
    """A POSIX class is a set in Rust regex (not in `re`): the record check accepts '123'."""
    assert _field(type="string", enum=["123"], pattern="^[[:digit:]]+$").enum == ["123"]


def test_empty_enum_is_rejected() -> None:
    assert "enum" in _problem(type="string", enum=[])


def test_enum_on_object_is_rejected() -> None:
    assert "'enum' does not apply to object" in _problem(
        type="object", fields={"a": {"type": "string"}}, enum=["x"]
    )


def test_object_without_fields_is_rejected() -> None:
    assert "an object field needs a non-empty 'fields' mapping" in _problem(type="object")


def test_object_with_empty_fields_is_rejected() -> None:
    assert "non-empty 'fields'" in _problem(type="object", fields={})


def test_fields_on_string_are_rejected() -> None:
    assert "apply only to object fields" in _problem(
        type="string", fields={"a": {"type": "string"}}
    )


def test_unknown_fields_policy_on_array_is_rejected() -> None:
    assert "apply only to object fields" in _problem(
        type="array", items={"type": "string"}, unknown_fields="allow"
    )


def test_array_without_items_is_rejected() -> None:
    assert "an array field needs an 'items' spec" in _problem(type="array")


def test_items_on_string_are_rejected() -> None:
    assert "apply only to arrays" in _problem(type="string", items={"type": "string"})


def test_problem_inside_array_items_is_rejected() -> None:
    assert "greater than maximum" in _problem(
        type="array", items={"type": "integer", "minimum": 9, "maximum": 1}
    )


def test_unknown_fields_policy_value_is_checked() -> None:
    assert "unknown_fields" in _problem(
        type="object", fields={"a": {"type": "string"}}, unknown_fields="drop"
    )


def test_field_spec_is_frozen() -> None:
    spec = _field(type="string")
    with pytest.raises(ValidationError):
        spec.type = "integer"  # type: ignore[misc]
