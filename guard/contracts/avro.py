"""Export a contract as an Avro schema, and turn decoded Avro data back into the JSON shape the
contract checks.

Mapping: string -> string (uuid format -> the `uuid` logical type), integer -> long, number ->
double, boolean -> boolean, timestamp -> long/timestamp-micros, date -> int/date, object -> a
nested record, array -> array, enum -> an Avro enum when every value is a string that Avro
accepts as a symbol (else the base type). A nullable or optional field is a union with null
first and a null default. Avro has no "absent": an optional, non-nullable field written as null
is read back as absent, so the contract's `required` and `nullable` keep their meaning.

Ranges, lengths, patterns and formats other than uuid have no Avro equivalent; the guard
checks them after decoding, with the same field paths as for JSON.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from guard.contracts.spec import FieldSpec

if TYPE_CHECKING:
    from guard.contracts.registry import Contract

_SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PRIMITIVE = {"string": "string", "integer": "long", "number": "double", "boolean": "boolean"}


def to_avro_schema(contract: Contract) -> dict[str, Any]:
    spec = contract.spec
    name = _name(spec.subject)
    schema: dict[str, Any] = {
        "type": "record",
        "name": name,
        "namespace": f"ingest_guard.v{spec.version}",
        "fields": _fields(spec.fields, name, {name}),
    }
    if spec.description:
        schema["doc"] = spec.description
    return schema


def invalid_avro_field(fields: dict[str, FieldSpec], prefix: str = "") -> str | None:
    """The path of the first field whose name is not an Avro name ([A-Za-z_][A-Za-z0-9_]*:
    a contract also allows '-'), or None. Avro's own parser (Java, so Schema Registry)
    refuses such a schema; fastavro reads it, so the guard's decoding does not need this."""
    for name, field in fields.items():
        path = f"{prefix}{name}"
        if not _SYMBOL.match(name):
            return path
        inner: FieldSpec | None = field
        while inner is not None and inner.type == "array":
            inner = inner.items
            path += "[]"
        if inner is not None and inner.type == "object" and inner.fields:
            found = invalid_avro_field(inner.fields, f"{path}.")
            if found is not None:
                return found
    return None


def _fields(fields: dict[str, FieldSpec], path: str, used: set[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, field in fields.items():
        avro_type = _type(field, f"{path}_{_name(name)}", used)
        entry: dict[str, Any] = {"name": name, "type": avro_type}
        if field.nullable or not field.required:
            entry["type"] = ["null", avro_type]
            entry["default"] = None
        if field.description:
            entry["doc"] = field.description
        out.append(entry)
    return out


def _type(field: FieldSpec, path: str, used: set[str]) -> Any:
    t = field.type
    if t == "object":
        assert field.fields is not None
        name = _unique(path, used)
        return {"type": "record", "name": name, "fields": _fields(field.fields, name, used)}
    if t == "array":
        assert field.items is not None
        return {"type": "array", "items": _type(field.items, f"{path}_item", used)}
    if t == "timestamp":
        return {"type": "long", "logicalType": "timestamp-micros"}
    if t == "date":
        return {"type": "int", "logicalType": "date"}
    if field.enum is not None and all(isinstance(v, str) and _SYMBOL.match(v) for v in field.enum):
        return {"type": "enum", "name": _unique(f"{path}_enum", used), "symbols": list(field.enum)}
    if t == "string" and field.format == "uuid":
        return {"type": "string", "logicalType": "uuid"}
    return _PRIMITIVE[t]


def _unique(name: str, used: set[str]) -> str:
    """`name`, or `name_2`, `name_3`... when another named type of the schema has it: Avro
    refuses a name defined twice (`a.b_c` and `a_b.c` both make `<subject>_a_b_c`). Names
    that do not collide are kept as they were."""
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name}_{n}"
    used.add(candidate)
    return candidate


def _name(text: str) -> str:
    """An Avro name from a subject or field name (letters, digits, underscores)."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return cleaned if _SYMBOL.match(cleaned) else f"_{cleaned}"


def to_json_shape(data: Any, fields: dict[str, FieldSpec] | None) -> Any:
    """Decoded Avro (datetimes, dates, UUIDs, bytes) as the JSON values the contract checks;
    nulls of optional, non-nullable fields become absent."""
    if not isinstance(data, dict):
        return _plain(data)
    out: dict[str, Any] = {}
    for key, value in data.items():
        spec = fields.get(key) if fields else None
        if spec is None:
            out[key] = _plain(value)
        elif value is None and not spec.required and not spec.nullable:
            continue
        else:
            out[key] = _shape(value, spec)
    return out


def _shape(value: Any, spec: FieldSpec) -> Any:
    if spec.type == "object" and isinstance(value, dict):
        return to_json_shape(value, spec.fields)
    if spec.type == "array" and isinstance(value, list) and spec.items is not None:
        return [_shape(v, spec.items) for v in value]
    return _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, bytes):
        return value.decode("latin-1")  # Avro bytes have no JSON form; a contract sees text
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _number(value: Decimal) -> int | float:
    """An Avro `decimal` as the JSON number its text would be: an integer without a scale
    (`431`), else a float (`431.49`, `431.00`), as a JSON producer would write it. (A Decimal
    left as it was passed the checks but broke `json.dumps` when `strip` re-encoded the
    record.) An unscaled value too large for a float overflows to infinity: the decoder
    refuses such a record (guard/validation/wire.py)."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0:
        return int(value)
    return float(value)
