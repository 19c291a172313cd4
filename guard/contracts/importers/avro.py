"""A contract from an Avro record schema (`.avsc`).

Avro types map to contract types (`string`, `int`/`long` -> integer, `int` within its 32
bits, `float`/`double` -> number, `boolean`, `enum` -> string enum, `record` -> object,
`array`), logical types `uuid` -> string uuid, `timestamp-millis`/`-micros` -> timestamp,
`date` -> date, and a union of `null` and one type -> optional and nullable. Avro records are
closed: `unknown_fields: reject`. Anything else (`map`, `fixed`, `bytes`, `decimal`, wider
unions) is refused at its JSON Pointer.
"""

from __future__ import annotations

from typing import Any

from guard.contracts.importers.common import ImportRefused, pointer

_PRIMITIVE = {"string": "string", "int": "integer", "long": "integer", "float": "number",
              "double": "number", "boolean": "boolean"}  # fmt: skip
# Avro `int` is 32-bit: a larger value cannot be written. (`long` is the contract's default
# 64-bit range.)
_INT32 = {"minimum": -(2**31), "maximum": 2**31 - 1}
_LOGICAL = {
    ("string", "uuid"): {"type": "string", "format": "uuid"},
    ("long", "timestamp-millis"): {"type": "timestamp"},
    ("long", "timestamp-micros"): {"type": "timestamp"},
    ("int", "date"): {"type": "date"},
}


def from_avro(doc: Any, source: str, subject: str, version: int) -> dict[str, Any]:
    if not isinstance(doc, dict) or doc.get("type") != "record":
        raise ImportRefused(source, "/type", "the top level must be an Avro record")
    out: dict[str, Any] = {"subject": subject, "version": version}
    if isinstance(doc.get("doc"), str):
        out["description"] = doc["doc"]
    out["unknown_fields"] = "reject"
    out["fields"] = _fields(doc, "", source)
    return out


def _fields(record: dict[str, Any], where: str, source: str) -> dict[str, Any]:
    fields = record.get("fields")
    if not isinstance(fields, list) or not fields:
        raise ImportRefused(source, pointer(where, "fields"), "a record needs fields")
    out: dict[str, Any] = {}
    for i, entry in enumerate(fields):
        at = pointer(where, "fields", i)
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ImportRefused(source, at, "a field needs a name")
        field = _type(entry.get("type"), pointer(at, "type"), source)
        if isinstance(entry.get("doc"), str):
            field["description"] = entry["doc"]
        out[entry["name"]] = field
    return out


def _type(node: Any, where: str, source: str) -> dict[str, Any]:
    if isinstance(node, list):
        others = [t for t in node if t != "null"]
        if len(others) != 1 or len(node) != 2:
            raise ImportRefused(source, where, "only a union of null and one type is imported")
        inner = _type(others[0], pointer(where, node.index(others[0])), source)
        return {**inner, "required": False, "nullable": True}
    if isinstance(node, str):
        if node in _PRIMITIVE:
            return _primitive(node)
        raise ImportRefused(source, where, f"Avro type {node!r} has no contract form")
    if not isinstance(node, dict):
        raise ImportRefused(source, where, "not an Avro type")
    kind, logical = node.get("type"), node.get("logicalType")
    if logical is not None:
        mapped = _LOGICAL.get((str(kind), str(logical)))
        if mapped is None:
            raise ImportRefused(
                source, pointer(where, "logicalType"), f"{logical!r} has no contract form"
            )
        return dict(mapped)
    if kind == "enum":
        return {"type": "string", "enum": list(node.get("symbols", []))}
    if kind == "record":
        return {
            "type": "object",
            "unknown_fields": "reject",
            "fields": _fields(node, where, source),
        }
    if kind == "array":
        return {"type": "array", "items": _type(node.get("items"), pointer(where, "items"), source)}
    if isinstance(kind, str) and kind in _PRIMITIVE:
        return _primitive(kind)
    raise ImportRefused(source, pointer(where, "type"), f"Avro type {kind!r} has no contract form")


def _primitive(name: str) -> dict[str, Any]:
    return {"type": _PRIMITIVE[name], **(_INT32 if name == "int" else {})}
