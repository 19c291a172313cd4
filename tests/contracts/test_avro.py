"""The Avro export of a contract (guard/contracts/avro.py)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from fastavro import parse_schema

from guard.contracts.avro import to_avro_schema, to_json_shape
from guard.contracts.registry import load_contract


def test_nested_types_whose_generated_names_collide_get_distinct_names(tmp_path: Path) -> None:
    # `a.b_c` and `a_b.c` both made the record name `ev_a_b_c`; Avro (fastavro here, the Java
    # parser a Schema Registry runs alike) refuses a name defined twice.
    (tmp_path / "ev").mkdir()
    path = tmp_path / "ev" / "v1.yaml"
    path.write_text(
        "subject: ev\nversion: 1\nfields:\n"
        "  a: {type: object, fields: {b_c: {type: object, fields: {x: {type: string}}}}}\n"
        "  a_b: {type: object, fields: {c: {type: object, fields: {y: {type: integer}}}}}\n"
        "  k: {type: string, enum: [p, q]}\n"
        "  k_enum: {type: object, fields: {z: {type: boolean}}}\n"
    )
    schema = to_avro_schema(load_contract(path))
    parse_schema(schema)  # raised "redefined named type: ingest_guard.v1.ev_a_b_c"
    names = [f["type"]["name"] for f in schema["fields"]]
    assert names == ["ev_a", "ev_a_b", "ev_k_enum", "ev_k_enum_2"]
    inner = [schema["fields"][i]["type"]["fields"][0]["type"]["name"] for i in (0, 1)]
    assert inner == ["ev_a_b_c", "ev_a_b_c_2"]


def test_an_avro_decimal_is_shaped_as_the_json_number_its_text_would_be() -> None:
    shaped = to_json_shape(
        {"a": Decimal("431.49"), "b": Decimal("431"), "c": Decimal("431.00"), "d": Decimal("-5")},
        None,
    )
    assert shaped == {"a": 431.49, "b": 431, "c": 431.0, "d": -5}
    assert [type(v) for v in shaped.values()] == [float, int, float, int]
    json.dumps(shaped)  # raised TypeError: Object of type Decimal is not JSON serializable
