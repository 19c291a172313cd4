"""A contract from a JSON Schema document (draft 2020-12 or 7 keywords the contract has).

Understood: `type` (one type, or one type and "null"), `anyOf` of one schema and
`{"type": "null"}` (nullable), `enum`, numeric bounds, string lengths, `pattern`, `format`
(`date-time` -> timestamp, `date` -> date, email, uuid, uri), `properties` / `required` /
`additionalProperties: true|false`, `items` / `minItems` / `maxItems`, local `$ref`s to
`$defs`/`definitions`, and annotations (`title`, `description`, `default`, `$schema`, `$id`,
`$comment`, `examples`). Anything else is refused at its JSON Pointer.
"""

from __future__ import annotations

from typing import Any

from guard.contracts.importers.common import ImportRefused, is_default_int_bound, pointer
from guard.contracts.spec import INT64_MAX, INT64_MIN

_ANNOTATIONS = {"title", "description", "default", "$schema", "$id", "$comment", "examples",
                "$defs", "definitions", "readOnly", "writeOnly", "deprecated"}  # fmt: skip
_SCALAR_KEYS = {
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusiveMinimum": "exclusive_minimum",
    "exclusiveMaximum": "exclusive_maximum",
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minItems": "min_items",
    "maxItems": "max_items",
    "enum": "enum",
}
_STRUCTURE = {"type", "anyOf", "format", "properties", "required", "additionalProperties", "items"}
_TYPES = {"string", "integer", "number", "boolean", "object", "array"}
_FORMATS = {"email", "uuid", "uri"}


class _Walk:
    def __init__(self, source: str, root: dict[str, Any]) -> None:
        self.source, self.root = source, root

    def refuse(self, where: str, problem: str) -> ImportRefused:
        return ImportRefused(self.source, where, problem)

    def resolve(self, node: Any, where: str, seen: tuple[str, ...] = ()) -> tuple[Any, str]:
        """Follow a local `$ref`; keywords beside it apply too (`conjoin`)."""
        if not isinstance(node, dict) or "$ref" not in node:
            return node, where
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise self.refuse(
                pointer(where, "$ref"), f"only local references are imported: {ref!r}"
            )
        if ref in seen:
            raise self.refuse(pointer(where, "$ref"), "a recursive reference has no contract form")
        target: Any = self.root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise self.refuse(pointer(where, "$ref"), f"{ref} does not resolve")
            target = target[part]
        if not isinstance(target, dict):
            return target, ref[1:]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        merged = self.conjoin(target, siblings, where)
        return self.resolve(merged, ref[1:], (*seen, ref))

    def conjoin(self, base: dict[str, Any], extra: dict[str, Any], where: str) -> dict[str, Any]:
        """`base` and `extra` as one schema. Both apply to an instance (2020-12 evaluates a
        `$ref` or `anyOf` and the keywords beside it together), so a keyword in both with
        different values has no single contract form: refused, never overridden."""
        for key, value in extra.items():
            if key in base and base[key] != value and key not in _ANNOTATIONS:
                raise self.refuse(
                    pointer(where, key),
                    f"`{key}` here and in the schema it is combined with both apply; give it once",
                )
        return {**base, **extra}

    def object_fields(self, node: dict[str, Any], where: str) -> tuple[dict[str, Any], str]:
        props = node.get("properties")
        if not isinstance(props, dict) or not props:
            raise self.refuse(where, "an object needs non-empty `properties`")
        required = node.get("required", [])
        if not isinstance(required, list) or any(r not in props for r in required):
            raise self.refuse(pointer(where, "required"), "names a property that is not declared")
        extra = node.get("additionalProperties", True)
        if not isinstance(extra, bool):
            raise self.refuse(
                pointer(where, "additionalProperties"),
                "only true or false: a schema for undeclared properties has no contract form",
            )
        fields = {}
        for name, sub in props.items():
            field = self.field(sub, pointer(where, "properties", name))
            if name not in required:
                field["required"] = False
            fields[name] = field
        return fields, "allow" if extra else "reject"

    def field(self, node: Any, where: str) -> dict[str, Any]:
        node, where = self.resolve(node, where)
        if not isinstance(node, dict):
            raise self.refuse(
                where, "a schema must be an object (true/false schemas are not imported)"
            )
        known = _ANNOTATIONS | set(_SCALAR_KEYS) | _STRUCTURE
        for key in node:
            if key not in known:
                raise self.refuse(pointer(where, key), f"`{key}` has no contract form")
        nullable = False
        if "anyOf" in node:
            options = node["anyOf"]
            nulls = (
                [o for o in options if o == {"type": "null"}] if isinstance(options, list) else []
            )
            if not isinstance(options, list) or len(options) != 2 or len(nulls) != 1:
                raise self.refuse(
                    pointer(where, "anyOf"),
                    "only `anyOf: [<schema>, {type: null}]` (nullable) is imported",
                )
            inner = next(o for o in options if o != {"type": "null"})
            at = pointer(where, "anyOf", options.index(inner))
            inner, at = self.resolve(inner, at)
            if not isinstance(inner, dict):
                raise self.refuse(
                    at, "a schema must be an object (true/false schemas are not imported)"
                )
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            made = self.field(self.conjoin(inner, rest, where), at)
            # The null branch admits null only where the keywords beside `anyOf` do too.
            if _admits_null(rest):
                made["nullable"] = True
            return made
        kind = node.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k != "null"]
            nullable = len(kinds) < len(kind)
            if len(kinds) != 1:
                raise self.refuse(
                    pointer(where, "type"),
                    "one type (optionally with null) is imported, not a union",
                )
            kind = kinds[0]
        if kind not in _TYPES:
            raise self.refuse(pointer(where, "type"), f"type {kind!r} has no contract form")
        out: dict[str, Any] = {"type": kind}
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                out["description"] = value
                continue
            if key in _ANNOTATIONS or key == "type":
                continue
            if key in _SCALAR_KEYS:
                if kind == "integer" and key in ("minimum", "maximum"):
                    bound = INT64_MIN if key == "minimum" else INT64_MAX
                    if is_default_int_bound(value, bound):
                        continue  # the contract's default for integers
                out[_SCALAR_KEYS[key]] = (
                    [v for v in value if v is not None] if key == "enum" else value
                )
            elif key == "format" and kind == "string":
                if value == "date-time":
                    out["type"] = "timestamp"
                elif value == "date":
                    out["type"] = "date"
                elif value in _FORMATS:
                    out["format"] = value
                else:
                    raise self.refuse(
                        pointer(where, "format"), f"format {value!r} is not one the contract checks"
                    )
            elif key in ("properties", "required", "additionalProperties") and kind == "object":
                continue
            elif key == "items" and kind == "array":
                out["items"] = self.field(value, pointer(where, "items"))
            else:
                raise self.refuse(pointer(where, key), f"`{key}` has no contract form")
        # null passes only when both `type` and `enum` (if any) admit it.
        if isinstance(node.get("enum"), list) and None not in node["enum"]:
            nullable = False
        if kind == "object":
            out["fields"], policy = self.object_fields(node, where)
            if policy != "allow":
                out["unknown_fields"] = policy
        if kind == "array" and "items" not in out:
            raise self.refuse(where, "an array needs `items`")
        if nullable:
            out["nullable"] = True
        return out


def _admits_null(node: dict[str, Any]) -> bool:
    """Whether the keywords of `node` that look at null (`type`, `enum`) let it pass."""
    kind = node.get("type", "null")
    if kind != "null" and not (isinstance(kind, list) and "null" in kind):
        return False
    enum = node.get("enum")
    return not isinstance(enum, list) or None in enum


def from_json_schema(doc: Any, source: str, subject: str, version: int) -> dict[str, Any]:
    """The contract document (ready for ContractSpec) for a JSON Schema object schema."""
    walk = _Walk(source, doc if isinstance(doc, dict) else {})
    root, where = walk.resolve(doc, "")
    if not isinstance(root, dict) or root.get("type") != "object":
        raise walk.refuse(pointer(where, "type"), "the top level must be `type: object`")
    for key in root:
        if key not in _ANNOTATIONS | {"type", "properties", "required", "additionalProperties"}:
            raise walk.refuse(pointer(where, key), f"`{key}` has no contract form")
    fields, policy = walk.object_fields(root, where)
    out: dict[str, Any] = {"subject": subject, "version": version}
    if isinstance(root.get("description"), str):
        out["description"] = root["description"]
    out["unknown_fields"] = policy
    out["fields"] = fields
    return out
