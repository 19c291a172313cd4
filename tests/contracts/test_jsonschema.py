"""JSON Schema (draft 2020-12) export of compiled contracts."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from guard.contracts import Contract, load_contract, load_registry
from guard.contracts.jsonschema import to_json_schema
from guard.contracts.spec import INT64_MAX, INT64_MIN
from tests.fixtures.paths import REPO

REPO_SCHEMAS = REPO / "schemas"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _orders(version: int) -> dict[str, Any]:
    return load_registry(REPO_SCHEMAS).subject("orders").versions[version].json_schema


def _contract(tmp_path: Path, text: str) -> Contract:
    path = tmp_path / "s" / "v1.yaml"
    path.parent.mkdir()
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_contract(path)


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    assert ref.startswith("#/$defs/")
    target: dict[str, Any] = schema["$defs"][ref.removeprefix("#/$defs/")]
    return target


def test_schema_declares_draft_2020_12() -> None:
    assert _orders(1)["$schema"] == DRAFT


def test_schema_has_id_title_and_description() -> None:
    schema = _orders(1)
    assert schema["$id"] == "orders/v1"
    assert schema["title"] == "orders v1"
    assert schema["description"] == "An order placed in the web shop."
    assert schema["type"] == "object"


def test_required_list_matches_the_contracts_required_fields() -> None:
    contract = load_registry(REPO_SCHEMAS).subject("orders").versions[2]
    required = [name for name, fs in contract.spec.fields.items() if fs.required]
    assert contract.json_schema["required"] == required


def test_every_contract_field_is_a_property() -> None:
    contract = load_registry(REPO_SCHEMAS).subject("orders").versions[2]
    assert list(contract.json_schema["properties"]) == list(contract.spec.fields)


def test_reject_policy_exports_additional_properties_false() -> None:
    assert _orders(1)["additionalProperties"] is False


def test_allow_policy_exports_additional_properties_true() -> None:
    assert _orders(2)["additionalProperties"] is True


def test_enum_is_exported() -> None:
    assert _orders(1)["properties"]["currency"]["enum"] == ["EUR", "USD", "GBP"]


def test_formats_are_exported() -> None:
    props = _orders(1)["properties"]
    assert props["order_id"]["format"] == "uuid"
    assert props["customer_email"]["format"] == "email"
    assert (props["created_at"]["type"], props["created_at"]["format"]) == ("string", "date-time")


def test_numeric_bounds_are_exported() -> None:
    props = _orders(1)["properties"]
    assert (props["amount"]["type"], props["amount"]["minimum"], props["amount"]["maximum"]) == (
        "number",
        0,
        1000000,
    )
    assert (props["quantity"]["type"], props["quantity"]["minimum"]) == ("integer", 1)
    assert props["quantity"]["maximum"] == 10000


def test_integer_without_range_exports_int64_bounds(tmp_path: Path) -> None:
    contract = _contract(tmp_path, "subject: s\nversion: 1\nfields:\n  n: {type: integer}\n")
    prop = contract.json_schema["properties"]["n"]
    assert (prop["minimum"], prop["maximum"]) == (INT64_MIN, INT64_MAX)


def test_pattern_is_exported_inside_the_nullable_branch() -> None:
    coupon = _orders(2)["properties"]["coupon"]
    branches = coupon["anyOf"]
    assert {"type": "null"} in branches
    assert {"type": "string", "pattern": "^[A-Z0-9]{4,12}$"} in branches
    assert "coupon" not in _orders(2)["required"]


def test_nested_object_is_exported_with_its_own_required_and_pattern() -> None:
    schema = _orders(2)
    shipping = _resolve(schema, schema["properties"]["shipping"])
    assert shipping["type"] == "object"
    assert shipping["required"] == ["country", "postcode"]
    assert shipping["properties"]["country"]["pattern"] == "^[A-Z]{2}$"
    assert shipping["properties"]["postcode"]["maxLength"] == 16


def test_array_of_objects_is_exported_with_item_bounds() -> None:
    schema = _orders(2)
    items = schema["properties"]["items"]
    assert items["type"] == "array"
    assert items["maxItems"] == 500
    item = _resolve(schema, items["items"])
    assert item["required"] == ["sku", "qty"]
    assert (item["properties"]["sku"]["minLength"], item["properties"]["sku"]["maxLength"]) == (
        1,
        64,
    )


def test_nested_override_exports_its_own_additional_properties(tmp_path: Path) -> None:
    contract = _contract(
        tmp_path,
        """\
        subject: s
        version: 1
        unknown_fields: allow
        fields:
          o:
            type: object
            unknown_fields: reject
            fields:
              a: {type: string}
        """,
    )
    schema = contract.json_schema
    assert schema["additionalProperties"] is True
    assert _resolve(schema, schema["properties"]["o"])["additionalProperties"] is False


def test_string_lengths_array_counts_and_exclusive_bounds_are_exported(tmp_path: Path) -> None:
    contract = _contract(
        tmp_path,
        """\
        subject: s
        version: 1
        fields:
          name: {type: string, min_length: 2, max_length: 5}
          tags: {type: array, items: {type: string}, min_items: 1, max_items: 3}
          ratio: {type: number, exclusive_minimum: 0, exclusive_maximum: 1}
          day: {type: date}
          flag: {type: boolean, enum: [true]}
        """,
    )
    props = contract.json_schema["properties"]
    assert (props["name"]["minLength"], props["name"]["maxLength"]) == (2, 5)
    assert (props["tags"]["minItems"], props["tags"]["maxItems"]) == (1, 3)
    assert (props["ratio"]["exclusiveMinimum"], props["ratio"]["exclusiveMaximum"]) == (0, 1)
    assert (props["day"]["type"], props["day"]["format"]) == ("string", "date")
    assert (props["flag"]["type"], props["flag"]["enum"]) == ("boolean", [True])


def test_contract_without_description_exports_none(tmp_path: Path) -> None:
    contract = _contract(tmp_path, "subject: s\nversion: 1\nfields:\n  a: {type: string}\n")
    assert "description" not in contract.json_schema


def test_export_is_plain_json() -> None:
    schema = _orders(2)
    assert json.loads(json.dumps(schema)) == schema


def test_property_json_schema_equals_direct_export() -> None:
    contract = load_registry(REPO_SCHEMAS).subject("orders").versions[1]
    assert contract.json_schema == to_json_schema(contract.spec, contract.model)
