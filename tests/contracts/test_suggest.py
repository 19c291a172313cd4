"""Proposing the next contract version from observed records."""

from __future__ import annotations

import random
from typing import Any

import yaml

from guard.contracts import load_registry
from guard.contracts.compile import compile_model
from guard.contracts.spec import ContractSpec
from guard.contracts.suggest import observe, suggest, to_yaml
from guard.demo.samples import good_order
from tests.fixtures.paths import REPO

ID = {"type": "string"}
SCHEMAS = REPO / "schemas"


def spec(fields: dict[str, Any], unknown: str = "reject") -> ContractSpec:
    return ContractSpec.model_validate(
        {"subject": "s", "version": 1, "unknown_fields": unknown, "fields": fields}
    )


def changes(latest: ContractSpec, records: list[dict[str, Any]], **kw: Any) -> dict[str, str]:
    result = suggest(latest, observe(records), 2, **kw)
    return {p.field: p.change for p in result.proposals if p.applied}


def test_an_undeclared_field_is_declared_optional_with_its_type() -> None:
    result = suggest(spec({"id": {"type": "string"}}), observe([{"id": "a", "n": 1}] * 3), 2)
    assert result.spec is not None
    assert result.spec.fields["n"].model_dump(exclude_none=True) == {
        "type": "integer",
        "required": False,
        "nullable": False,
    }


def test_nested_objects_arrays_and_timestamps_are_inferred() -> None:
    record = {
        "id": "a",
        "ship": {"country": "DE"},
        "tags": ["x", "y"],
        "at": "2026-11-21T09:15:00Z",
    }
    result = suggest(spec({"id": {"type": "string"}}), observe([record]), 2)
    assert result.spec is not None
    fields = result.spec.fields
    assert fields["ship"].type == "object" and fields["ship"].fields is not None
    assert fields["ship"].fields["country"].type == "string"
    assert fields["tags"].type == "array" and fields["tags"].items is not None
    assert fields["tags"].items.type == "string"
    assert fields["at"].type == "timestamp"


def test_absent_and_null_values_make_a_field_optional_and_nullable() -> None:
    records = [{"id": "a", "n": 1}, {"id": "b"}, {"id": "c", "n": None}]
    result = suggest(
        spec({"id": {"type": "string"}, "n": {"type": "integer"}}), observe(records), 2
    )
    assert [(p.field, p.change) for p in result.applied] == [
        ("n", "made_optional"),
        ("n", "made_nullable"),
    ]
    assert result.spec is not None
    assert (result.spec.fields["n"].required, result.spec.fields["n"].nullable) == (False, True)


def test_fractional_values_widen_an_integer_to_a_number() -> None:
    records = [{"q": 1}, {"q": 2.5}]
    assert changes(spec({"q": {"type": "integer", "minimum": 0}}), records) == {"q": "type_widened"}


def test_an_enum_gains_the_values_seen() -> None:
    records = [{"c": "EUR"}, {"c": "JPY"}, {"c": "JPY"}]
    result = suggest(spec({"c": {"type": "string", "enum": ["EUR", "USD"]}}), observe(records), 2)
    assert result.spec is not None
    assert result.spec.fields["c"].enum == ["EUR", "USD", "JPY"]


def test_rare_observations_are_reported_not_applied() -> None:
    records = [{"id": str(i)} for i in range(199)] + [{"id": "x", "typo": 1}]
    result = suggest(spec({"id": {"type": "string"}}), observe(records), 2, min_share=0.01)
    assert result.spec is None
    (p,) = result.proposals
    assert (p.field, p.change, p.applied) == ("typo", "field_added", False)
    assert "1 of 200" in p.detail


def test_out_of_range_and_pattern_misses_are_reported_as_likely_bad_data() -> None:
    latest = spec(
        {"n": {"type": "integer", "minimum": 1}, "s": {"type": "string", "pattern": "^A"}}
    )
    result = suggest(latest, observe([{"n": 0, "s": "B"}] * 10), 2)
    assert result.spec is None
    assert {(p.field, p.change) for p in result.reported} == {
        ("n", "out_of_bounds"),
        ("s", "pattern_conflict"),
    }


def test_types_the_format_cannot_express_are_conflicts() -> None:
    records = [{"id": "a", "m": 1}, {"id": "b", "m": "one"}, {"id": "c", "n": "x"}]
    latest = spec({"id": {"type": "integer"}}, "allow")
    result = suggest(latest, observe(records), 2)
    reported = {(p.field, p.change) for p in result.reported}
    assert ("m", "type_conflict") in reported
    assert ("id", "type_conflict") in reported


def test_nothing_to_change_gives_no_new_version() -> None:
    latest = spec({"id": {"type": "string"}})
    result = suggest(latest, observe([{"id": "a"}]), 2)
    assert (result.spec, result.proposals) == (None, [])


def _drifted_orders(n: int) -> list[dict[str, Any]]:
    rng = random.Random(5)
    out = []
    for i in range(n):
        o = good_order(rng)
        if i % 3 == 0:
            o["gift_wrap"] = True
            o["currency"] = "JPY"
            o["quantity"] = 2.5
        if i % 4 == 0:
            o["shipping"] = {"country": "DE", "postcode": "10115", "floor": 3}
        if i % 7 == 0:
            del o["customer_email"]
        out.append(o)
    return out


def test_the_suggested_orders_contract_accepts_every_observed_record() -> None:
    orders = load_registry(SCHEMAS).subject("orders")
    records = _drifted_orders(60)
    latest = orders.versions[2].spec
    model = compile_model(latest)
    assert any(not _accepts(model, r) for r in records)
    result = suggest(latest, observe(records), 3)
    assert result.spec is not None and result.reported == []
    proposed = compile_model(result.spec)
    assert all(_accepts(proposed, r) for r in records)


def test_the_yaml_round_trips_to_the_same_contract() -> None:
    result = suggest(
        load_registry(SCHEMAS).subject("orders").versions[2].spec, observe(_drifted_orders(30)), 3
    )
    assert result.spec is not None
    text = to_yaml(result.spec)
    assert text.startswith("subject: orders\nversion: 3\n")
    assert "  gift_wrap: {type: boolean, required: false}\n" in text
    assert ContractSpec.model_validate(yaml.safe_load(text)) == result.spec


def _accepts(model: Any, record: dict[str, Any]) -> bool:
    try:
        model.model_validate(record)
    except Exception:
        return False
    return True


def test_json_keys_a_contract_cannot_name_are_reported_not_a_crash() -> None:
    records = [
        {"id": "a", "@type": "Order", "first name": "Ada", "a.b": 1, "ok": True, "o": {"$ref": 1}}
    ] * 3
    latest = spec({"id": {"type": "string"}, "o": {"type": "object", "fields": {"x": ID}}}, "allow")
    result = suggest(latest, observe(records), 2)
    rejected = {p.field: p for p in result.proposals if p.change == "name_not_allowed"}
    assert set(rejected) == {"@type", "first name", "a.b", "o.$ref"}
    assert all(not p.applied for p in rejected.values())
    assert rejected["@type"].detail.startswith("name not allowed in a contract: '@type'")
    assert result.spec is not None and set(result.spec.fields) == {"id", "o", "ok"}


def test_an_undeclared_object_with_only_unnameable_keys_is_not_declared() -> None:
    result = suggest(spec({"id": ID}, "allow"), observe([{"id": "a", "meta": {"@id": 1}}]), 2)
    assert result.spec is None
    assert {(p.field, p.change) for p in result.proposals} == {
        ("meta.@id", "name_not_allowed"),
        ("meta", "type_unknown"),
    }


def test_an_enum_is_not_widened_with_values_the_fields_other_rules_reject() -> None:
    latest = spec({"code": {"type": "string", "enum": ["A", "B"], "max_length": 1}})
    records = [{"code": "A"}, {"code": "CC"}, {"code": "D"}] * 5
    result = suggest(latest, observe(records), 2)
    assert result.spec is not None
    assert result.spec.fields["code"].enum == ["A", "B", "D"]
    (p,) = result.reported
    assert (p.field, p.change, p.applied) == ("code", "enum_widened", False)
    assert p.detail.startswith("value CC: the proposed field still rejects it (")
    assert "at most 1 character" in p.detail
    model = compile_model(result.spec)
    assert _accepts(model, {"code": "D"}) and not _accepts(model, {"code": "CC"})


def test_an_enum_is_not_widened_past_the_fields_range() -> None:
    latest = spec({"n": {"type": "integer", "enum": [1, 2], "maximum": 2}})
    result = suggest(latest, observe([{"n": 1}, {"n": 3}] * 5), 2)
    assert result.spec is None
    (p,) = result.proposals
    assert (p.field, p.change, p.applied) == ("n", "enum_widened", False)
    assert p.detail.startswith("value 3: the proposed field still rejects it (")
    assert "less than or equal to 2" in p.detail


def test_an_integer_is_not_widened_for_fractions_its_range_still_rejects() -> None:
    latest = spec({"q": {"type": "integer", "minimum": 0}})
    result = suggest(latest, observe([{"q": 1}, {"q": -0.5}, {"q": -1.5}]), 2)
    assert result.spec is None
    widened = [p for p in result.proposals if p.change == "type_widened"]
    assert [(p.field, p.applied) for p in widened] == [("q", False)]
    assert "the proposed field still rejects all 2 of them" in widened[0].detail
    assert ("q", "type_conflict") in {(p.field, p.change) for p in result.reported}


def test_an_integer_is_widened_when_some_fractions_fit_and_the_rest_are_listed() -> None:
    latest = spec({"q": {"type": "integer", "minimum": 0}})
    result = suggest(latest, observe([{"q": 1}, {"q": 0.5}, {"q": -1.5}]), 2)
    assert result.spec is not None and result.spec.fields["q"].type == "number"
    assert {(p.field, p.change) for p in result.reported} == {("q", "out_of_bounds")}
