"""Flattening records into contract-shaped tables."""

from __future__ import annotations

from typing import Any

from guard.contracts.spec import ContractSpec
from guard.reports.flatten import ABSENT, ROOT, UNDER_MISSING, flatten, layout

SPEC = ContractSpec.model_validate(
    {
        "subject": "s",
        "version": 1,
        "unknown_fields": "allow",
        "fields": {
            "id": {"type": "string"},
            "ship": {
                "type": "object",
                "required": False,
                "unknown_fields": "reject",
                "fields": {"country": {"type": "string"}},
            },
            "items": {
                "type": "array",
                "required": False,
                "items": {"type": "object", "fields": {"qty": {"type": "integer"}}},
            },
            "grid": {
                "type": "array",
                "required": False,
                "items": {"type": "array", "items": {"type": "integer"}},
            },
        },
    }
)


def test_layout_gives_dotted_columns_and_one_table_per_array() -> None:
    lay = layout(SPEC)
    assert [(c.path, c.table) for c in lay.columns] == [
        ("id", ROOT),
        ("ship", ROOT),
        ("ship.country", ROOT),
        ("items", ROOT),
        ("items[]", "items[]"),
        ("items[].qty", "items[]"),
        ("grid", ROOT),
        ("grid[]", "grid[]"),
        ("grid[][]", "grid[][]"),
    ]
    assert [(lv.prefix, lv.policy) for lv in lay.levels] == [
        ("", "allow"),
        ("ship.", "reject"),
        ("items[].", "allow"),
    ]


def test_a_child_of_an_optional_object_may_be_missing() -> None:
    by_path = {c.path: c for c in layout(SPEC).columns}
    assert by_path["ship.country"].nullable
    assert not by_path["id"].nullable
    assert not by_path["items[].qty"].nullable


def test_absent_null_and_under_a_missing_parent_are_told_apart() -> None:
    records: list[dict[str, Any]] = [
        {"id": "a", "ship": {}},
        {"id": None, "ship": None},
        {"ship": "DE"},
    ]
    root = flatten(records, SPEC)[ROOT]
    assert root.raw_column("id") == ["a", None, ABSENT]
    assert root.raw_column("ship.country") == [ABSENT, UNDER_MISSING, UNDER_MISSING]
    assert root.column("ship.country") == [None, None, None]


def test_array_elements_become_rows_that_remember_their_record() -> None:
    records = [
        {"id": "a", "items": [{"qty": 1}, {"qty": 2}]},
        {"id": "b"},
        {"id": "c", "items": [{"qty": 3}]},
    ]
    items = flatten(records, SPEC)["items[]"]
    assert items.rows == [0, 0, 2]
    assert items.column("items[].qty") == [1, 2, 3]


def test_nested_arrays_get_a_table_per_level() -> None:
    tables = flatten([{"id": "a", "grid": [[1, 2], [3]]}], SPEC)
    assert tables["grid[]"].column("grid[]") == [[1, 2], [3]]
    assert tables["grid[][]"].column("grid[][]") == [1, 2, 3]


def test_undeclared_keys_are_counted_where_they_were_found() -> None:
    records = [
        {"id": "a", "note": 1, "ship": {"country": "DE", "floor": 2}},
        {"id": "b", "note": None, "items": [{"qty": 1, "gift": True}]},
    ]
    tables = flatten(records, SPEC)
    assert tables[ROOT].undeclared == {"note": 2, "ship.floor": 1}
    assert tables["items[]"].undeclared == {"items[].gift": 1}
