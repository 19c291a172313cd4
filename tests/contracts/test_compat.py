"""Compatibility between contract versions: the rules per change, and every mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from guard.contracts.compat import check_history, check_new_version, check_pair, readable
from guard.contracts.compile import compile_model
from guard.contracts.spec import ContractSpec
from guard.contracts.subject_config import MODES, load_subject_config
from guard.errors import ContractError
from tests.fixtures.paths import REPO

ORDERS = REPO / "schemas" / "orders"


def spec(version: int, fields: dict[str, Any], unknown: str = "reject", **kw: Any) -> ContractSpec:
    return ContractSpec.model_validate(
        {"subject": "s", "version": version, "unknown_fields": unknown, "fields": fields, **kw}
    )


ID = {"type": "string"}

# (name, old, new, backward breaks?, forward breaks?, rule expected on the breaking side)
CHANGES: list[tuple[str, ContractSpec, ContractSpec, bool, bool, str]] = [
    (
        "add optional field to a closed object",
        spec(1, {"id": ID}),
        spec(2, {"id": ID, "x": {"type": "integer", "required": False}}),
        False,
        True,
        "field_undeclared",
    ),
    (
        "add optional field to an open object",
        spec(1, {"id": ID}, "allow"),
        spec(2, {"id": ID, "x": {"type": "integer", "required": False}}, "allow"),
        True,
        False,
        "field_unconstrained",
    ),
    (
        "add required field to an open object",
        spec(1, {"id": ID}, "allow"),
        spec(2, {"id": ID, "x": {"type": "integer"}}, "allow"),
        True,
        False,
        "field_missing",
    ),
    (
        "remove field from an open object",
        spec(1, {"id": ID, "x": {"type": "integer"}}, "allow"),
        spec(2, {"id": ID}, "allow"),
        False,
        True,
        "field_missing",
    ),
    (
        "remove field from a closed object",
        spec(1, {"id": ID, "x": {"type": "integer", "required": False}}),
        spec(2, {"id": ID}),
        True,
        False,
        "field_undeclared",
    ),
    (
        "widen an enum",
        spec(1, {"c": {"type": "string", "enum": ["A", "B"]}}),
        spec(2, {"c": {"type": "string", "enum": ["A", "B", "C"]}}),
        False,
        True,
        "values",
    ),
    (
        "narrow an enum",
        spec(1, {"c": {"type": "string", "enum": ["A", "B"]}}),
        spec(2, {"c": {"type": "string", "enum": ["A"]}}),
        True,
        False,
        "values",
    ),
    (
        "add an enum",
        spec(1, {"c": {"type": "string"}}),
        spec(2, {"c": {"type": "string", "enum": ["A"]}}),
        True,
        False,
        "enum",
    ),
    (
        "lower a minimum",
        spec(1, {"n": {"type": "integer", "minimum": 1}}),
        spec(2, {"n": {"type": "integer", "minimum": 0}}),
        False,
        True,
        "minimum",
    ),
    (
        "lower a maximum",
        spec(1, {"n": {"type": "number", "maximum": 10}}),
        spec(2, {"n": {"type": "number", "maximum": 5}}),
        True,
        False,
        "maximum",
    ),
    (
        "make a bound exclusive",
        spec(1, {"n": {"type": "number", "minimum": 0}}),
        spec(2, {"n": {"type": "number", "exclusive_minimum": 0}}),
        True,
        False,
        "minimum",
    ),
    (
        "make nullable",
        spec(1, {"n": {"type": "integer"}}),
        spec(2, {"n": {"type": "integer", "nullable": True}}),
        False,
        True,
        "nullable",
    ),
    (
        "make optional",
        spec(1, {"n": {"type": "integer"}}),
        spec(2, {"n": {"type": "integer", "required": False}}),
        False,
        True,
        "required",
    ),
    (
        "integer to number",
        spec(1, {"n": {"type": "integer"}}),
        spec(2, {"n": {"type": "number"}}),
        False,
        True,
        "type",
    ),
    (
        "timestamp to string",
        spec(1, {"t": {"type": "timestamp"}}),
        spec(2, {"t": {"type": "string"}}),
        False,
        True,
        "type",
    ),
    (
        "add a pattern",
        spec(1, {"s": {"type": "string"}}),
        spec(2, {"s": {"type": "string", "pattern": "^[A-Z]+$"}}),
        True,
        False,
        "pattern",
    ),
    (
        "add a format",
        spec(1, {"s": {"type": "string"}}),
        spec(2, {"s": {"type": "string", "format": "uuid"}}),
        True,
        False,
        "format",
    ),
    (
        "lower max_length",
        spec(1, {"s": {"type": "string", "max_length": 10}}),
        spec(2, {"s": {"type": "string", "max_length": 5}}),
        True,
        False,
        "max_length",
    ),
    (
        "close an open object",
        spec(1, {"id": ID}, "allow"),
        spec(2, {"id": ID}, "reject"),
        True,
        False,
        "unknown_fields",
    ),
    # `strip` accepts records with undeclared fields (it removes them only from the clean
    # copy), so as a writer it is open, like `allow`: {"id": "a", "promo": "SPRING"} passes
    # a strip v1 and is quarantined by a v2 that declares `promo: integer`.
    (
        "add optional field to a strip object",
        spec(1, {"id": ID}, "strip"),
        spec(2, {"id": ID, "promo": {"type": "integer", "required": False}}, "strip"),
        True,
        False,
        "field_unconstrained",
    ),
    (
        "close a strip object",
        spec(1, {"id": ID}, "strip"),
        spec(2, {"id": ID}, "reject"),
        True,
        False,
        "unknown_fields",
    ),
    (
        "close a strip object and add an optional field",
        spec(1, {"id": ID}, "strip"),
        spec(2, {"id": ID, "promo": {"type": "integer", "required": False}}, "reject"),
        True,
        False,
        "field_unconstrained",
    ),
    (
        "open a closed object with strip",
        spec(1, {"id": ID}, "reject"),
        spec(2, {"id": ID}, "strip"),
        False,
        True,
        "unknown_fields",
    ),
    (
        "add optional field to a nested strip object",
        spec(1, {"o": {"type": "object", "unknown_fields": "strip", "fields": {"id": ID}}}),
        spec(
            2,
            {
                "o": {
                    "type": "object",
                    "unknown_fields": "strip",
                    "fields": {"id": ID, "promo": {"type": "integer", "required": False}},
                }
            },
        ),
        True,
        False,
        "field_unconstrained",
    ),
    (
        "narrow a nested field",
        spec(1, {"o": {"type": "object", "fields": {"c": {"type": "string", "max_length": 9}}}}),
        spec(2, {"o": {"type": "object", "fields": {"c": {"type": "string", "max_length": 2}}}}),
        True,
        False,
        "max_length",
    ),
    (
        "narrow an array element",
        spec(1, {"a": {"type": "array", "items": {"type": "integer", "minimum": 0}}}),
        spec(2, {"a": {"type": "array", "items": {"type": "integer", "minimum": 1}}}),
        True,
        False,
        "minimum",
    ),
    (
        "lower max_items",
        spec(1, {"a": {"type": "array", "items": {"type": "integer"}, "max_items": 9}}),
        spec(2, {"a": {"type": "array", "items": {"type": "integer"}, "max_items": 3}}),
        True,
        False,
        "max_items",
    ),
]

SAFE_BOTH_WAYS: list[tuple[str, ContractSpec, ContractSpec]] = [
    (
        "description only",
        spec(1, {"s": {"type": "string"}}),
        spec(2, {"s": {"type": "string", "description": "now documented"}}, description="v2"),
    ),
    (
        "allow to strip (open either way)",
        spec(1, {"id": ID}, "allow"),
        spec(2, {"id": ID}, "strip"),
    ),
    (
        "strip to allow (open either way)",
        spec(1, {"id": ID}, "strip"),
        spec(2, {"id": ID}, "allow"),
    ),
    (
        "integer enum read as number enum with the same values",
        spec(1, {"n": {"type": "integer", "enum": [1, 2]}}),
        spec(2, {"n": {"type": "number", "enum": [1, 2]}}),
    ),
    (
        "string with date-time format and timestamp",
        spec(1, {"t": {"type": "string", "format": "date-time"}}),
        spec(2, {"t": {"type": "timestamp"}}),
    ),
]


def _directions(old: ContractSpec, new: ContractSpec) -> tuple[bool, bool]:
    return bool(check_pair(old, new, "BACKWARD")), bool(check_pair(old, new, "FORWARD"))


@pytest.mark.parametrize(("name", "old", "new", "back", "fwd", "rule"), CHANGES, ids=lambda x: x)
def test_each_change_breaks_exactly_the_expected_direction(
    name: str, old: ContractSpec, new: ContractSpec, back: bool, fwd: bool, rule: str
) -> None:
    assert _directions(old, new) == (back, fwd)


@pytest.mark.parametrize(("name", "old", "new", "back", "fwd", "rule"), CHANGES, ids=lambda x: x)
def test_each_break_names_its_rule_field_and_both_sides(
    name: str, old: ContractSpec, new: ContractSpec, back: bool, fwd: bool, rule: str
) -> None:
    breaks = check_pair(old, new, "FULL")
    assert rule in {b.rule for b in breaks}
    for b in breaks:
        assert b.field and b.old and b.new and b.why
        assert (b.old_version, b.new_version) == (1, 2)


@pytest.mark.parametrize(("name", "old", "new"), SAFE_BOTH_WAYS, ids=lambda x: x)
def test_safe_changes_break_no_direction(name: str, old: ContractSpec, new: ContractSpec) -> None:
    assert _directions(old, new) == (False, False)


# Modes on a two-version history, for every change above: each mode checks what it means.
_EXPECTED = {
    "BACKWARD": lambda b, f: b,
    "BACKWARD_TRANSITIVE": lambda b, f: b,
    "FORWARD": lambda b, f: f,
    "FORWARD_TRANSITIVE": lambda b, f: f,
    "FULL": lambda b, f: b or f,
    "FULL_TRANSITIVE": lambda b, f: b or f,
    "NONE": lambda b, f: False,
}


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_flags_the_known_breaks_and_passes_the_known_safe_changes(mode: Any) -> None:
    for name, old, new, back, fwd, _ in CHANGES:
        assert bool(check_history([old, new], mode)) == _EXPECTED[mode](back, fwd), name
    for name, old, new in SAFE_BOTH_WAYS:
        assert check_history([old, new], mode) == [], name


def test_strip_is_open_as_a_writer_the_witness_record() -> None:
    """The guard validates raw producer records: strip v1 accepts what v2 quarantines."""
    v1 = spec(1, {"id": ID}, "strip")
    v2 = spec(2, {"id": ID, "promo": {"type": "integer", "required": False}}, "strip")
    witness = {"id": "a", "promo": "SPRING"}
    compile_model(v1).model_validate(witness)
    with pytest.raises(ValidationError):
        compile_model(v2).model_validate(witness)
    (b,) = check_pair(v1, v2, "BACKWARD")
    assert (b.field, b.rule, b.old) == ("promo", "field_unconstrained", "(undeclared, strip)")


def test_a_field_removed_then_readded_under_strip_breaks_at_the_readding_step() -> None:
    """v1 has x:integer, v2 drops it, v3 brings it back as a string: v2's producers may
    still send x with any value, so v2 -> v3 already breaks BACKWARD (it did not when strip
    was taken for closed, and only the transitive modes caught it)."""
    history = [
        spec(1, {"id": ID, "x": {"type": "integer", "required": False}}, "strip"),
        spec(2, {"id": ID}, "strip"),
        spec(3, {"id": ID, "x": {"type": "string", "required": False}}, "strip"),
    ]
    breaks = check_history(history, "BACKWARD")
    assert [(b.old_version, b.new_version, b.field, b.rule) for b in breaks] == [
        (2, 3, "x", "field_unconstrained")
    ]


def _changed_under_none() -> list[ContractSpec]:
    """v1 -> v2 changes x's type (registered under NONE, on purpose); v3 only documents v2."""
    return [
        spec(1, {"id": ID, "x": {"type": "integer"}}),
        spec(2, {"id": ID, "x": {"type": "string"}}),
        spec(3, {"id": ID, "x": {"type": "string"}}, description="x documented"),
    ]


@pytest.mark.parametrize("mode", MODES)
def test_transitive_modes_compare_with_every_earlier_version(mode: Any) -> None:
    v1, v2, v3 = _changed_under_none()
    breaks = check_new_version([v1, v2], v3, mode)
    transitive = mode.endswith("_TRANSITIVE")
    assert bool(breaks) == transitive
    assert all((b.old_version, b.new_version) == (1, 3) for b in breaks)


def test_retired_versions_still_count_as_history() -> None:
    v1, v2, v3 = _changed_under_none()
    v1 = v1.model_copy(update={"status": "retired"})
    assert check_new_version([v1, v2], v3, "BACKWARD_TRANSITIVE")


def test_check_new_version_compares_only_the_new_one() -> None:
    v1, v2, v3 = _changed_under_none()
    assert check_new_version([v1, v2], v3, "BACKWARD") == []
    assert [b.rule for b in check_new_version([v1, v2], v3, "BACKWARD_TRANSITIVE")] == ["type"]


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ({"maximum": 10**16}, {"maximum": 10**16 - 1}, "maximum"),
        ({"minimum": -(2**53) - 1}, {"minimum": -(2**53)}, "minimum"),
        ({"exclusive_maximum": 2**62 + 1}, {"maximum": 2**62 - 1}, "maximum"),
    ],
)
def test_an_integer_bound_moved_by_one_past_2_to_the_53_breaks_backward(
    old: dict[str, int], new: dict[str, int], rule: str
) -> None:
    # As floats the two bounds round to one value; the guard compares the integers exactly.
    v1, v2 = spec(1, {"n": {"type": "integer", **old}}), spec(2, {"n": {"type": "integer", **new}})
    assert [(b.direction, b.rule) for b in check_pair(v1, v2, "FULL")] == [("backward", rule)]


def test_readable_explains_in_version_terms() -> None:
    old = spec(1, {"c": {"type": "string", "enum": ["A", "B"]}})
    new = spec(2, {"c": {"type": "string", "enum": ["A"]}})
    (finding,) = readable(reader=new, writer=old)
    assert finding.why == "v2 rejects [B], which v1 allows in 'c'"


def test_the_repository_orders_history_is_backward_but_not_forward_compatible() -> None:
    from guard.contracts import load_registry

    subject = load_registry(ORDERS.parent).subject("orders")
    specs = [c.spec for c in subject.versions.values()]
    assert check_history(specs, "BACKWARD") == []
    forward = check_history(specs, "FORWARD")
    assert {b.field for b in forward} >= {"(record)", "currency", "channel"}


# subject.yaml: where the mode comes from.


def test_subject_without_subject_yaml_defaults_to_backward(tmp_path: Path) -> None:
    assert load_subject_config(tmp_path, "s").compatibility == "BACKWARD"


def test_subject_yaml_sets_the_mode_case_insensitively(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "subject.yaml").write_text("compatibility: full_transitive\n")
    assert load_subject_config(tmp_path, "s").compatibility == "FULL_TRANSITIVE"


def test_subject_yaml_with_an_unknown_mode_names_the_file_and_the_choices(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    path = tmp_path / "s" / "subject.yaml"
    path.write_text("compatibility: SIDEWAYS\n")
    with pytest.raises(ContractError) as err:
        load_subject_config(tmp_path, "s")
    assert str(err.value).startswith(f"{path}: compatibility: must be one of BACKWARD,")


def test_the_repository_orders_subject_declares_its_mode() -> None:
    assert (ORDERS / "subject.yaml").is_file()
    assert load_subject_config(ORDERS.parent, "orders").compatibility == "BACKWARD"
