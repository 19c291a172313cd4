"""A readable diff of two contract versions."""

from __future__ import annotations

from typing import Any

from guard.contracts import load_registry
from guard.contracts.diff import diff_specs, render_diff
from guard.contracts.spec import ContractSpec
from tests.fixtures.paths import REPO

SCHEMAS = REPO / "schemas"


def spec(version: int, fields: dict[str, Any], **kw: Any) -> ContractSpec:
    return ContractSpec.model_validate({"subject": "s", "version": version, "fields": fields, **kw})


def test_orders_v1_to_v2_lists_every_change_in_order() -> None:
    orders = load_registry(SCHEMAS).subject("orders")
    a, b = orders.versions[1].spec, orders.versions[2].spec
    lines = render_diff(a, b, diff_specs(a, b)).splitlines()
    assert lines[0] == "orders v1 -> orders v2"
    assert "  ~ unknown_fields: reject -> allow" in lines
    assert "  ~ currency.enum: [EUR, USD, GBP] -> [EUR, USD, GBP, CHF]" in lines
    assert "  + channel: string, optional, enum [web, app, store]" in lines
    assert "  + shipping.country: string, required, pattern ^[A-Z]{2}$" in lines
    assert "  + items[].qty: integer, required, minimum 1" in lines


def test_a_removed_object_lists_its_children_as_removed() -> None:
    old = spec(
        1, {"id": {"type": "string"}, "o": {"type": "object", "fields": {"x": {"type": "integer"}}}}
    )
    new = spec(2, {"id": {"type": "string"}})
    changes = diff_specs(old, new)
    assert [(c.kind, c.field, c.attribute) for c in changes] == [
        ("removed", "o", None),
        ("removed", "o.x", None),
    ]
    assert changes[1].old == "integer, required" and changes[1].new is None


def test_attribute_added_removed_and_changed_are_told_apart() -> None:
    old = spec(1, {"n": {"type": "integer", "minimum": 0, "maximum": 9}})
    new = spec(2, {"n": {"type": "integer", "maximum": 5, "exclusive_minimum": 1}})
    rendered = [c.render() for c in diff_specs(old, new)]
    assert rendered == ["- n.minimum: 0", "~ n.maximum: 9 -> 5", "+ n.exclusive_minimum: 1"]


def test_a_type_change_replaces_the_children() -> None:
    old = spec(1, {"o": {"type": "object", "fields": {"x": {"type": "integer"}}}})
    new = spec(2, {"o": {"type": "string"}})
    assert [c.render() for c in diff_specs(old, new)] == [
        "~ o.type: object -> string",
        "- o.x: integer, required",
    ]


def test_identical_versions_say_no_changes() -> None:
    a = spec(1, {"n": {"type": "integer"}})
    b = spec(2, {"n": {"type": "integer"}})
    assert render_diff(a, b, diff_specs(a, b)) == "s v1 -> s v2: no changes"


def test_changes_serialise_to_json_values() -> None:
    old = spec(1, {"c": {"type": "string", "enum": ["A"]}})
    new = spec(2, {"c": {"type": "string", "enum": ["A", "B"]}})
    (change,) = diff_specs(old, new)
    assert change.to_json() == {
        "kind": "changed",
        "field": "c",
        "attribute": "enum",
        "old": ["A"],
        "new": ["A", "B"],
    }
