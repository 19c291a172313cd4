"""A readable, field-by-field diff of two contract versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from guard.contracts.spec import ContractSpec, FieldSpec, RuleSpec

ChangeKind = Literal["added", "removed", "changed"]

# Contract-level and field-level attributes, in the order they are shown.
_CONTRACT_ATTRS = ("status", "description", "unknown_fields")
_FIELD_ATTRS = (
    "type",
    "required",
    "nullable",
    "enum",
    "minimum",
    "maximum",
    "exclusive_minimum",
    "exclusive_maximum",
    "min_length",
    "max_length",
    "pattern",
    "format",
    "unknown_fields",
    "min_items",
    "max_items",
    "drift",
    "description",
)
_MARK = {"added": "+", "removed": "-", "changed": "~"}


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    field: str  # dotted path ('items[].qty'); '' for contract-level attributes
    attribute: str | None  # None for a whole field added or removed
    old: Any
    new: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "field": self.field or None,
            "attribute": self.attribute,
            "old": _plain(self.old),
            "new": _plain(self.new),
        }

    def render(self) -> str:
        mark = _MARK[self.kind]
        if self.attribute is None:
            side = self.new if self.kind == "added" else self.old
            return f"{mark} {self.field}: {side}"
        where = f"{self.field}.{self.attribute}" if self.field else self.attribute
        if self.kind == "added":
            return f"{mark} {where}: {_show(self.new)}"
        if self.kind == "removed":
            return f"{mark} {where}: {_show(self.old)}"
        return f"{mark} {where}: {_show(self.old)} -> {_show(self.new)}"


def diff_specs(old: ContractSpec, new: ContractSpec) -> list[Change]:
    """Changes from `old` to `new`: contract attributes first, then fields in file order."""
    changes: list[Change] = []
    for attr in _CONTRACT_ATTRS:
        a, b = getattr(old, attr), getattr(new, attr)
        if a != b:
            changes.append(Change("changed", "", attr, a, b))
    _fields(old.fields, new.fields, "", changes)
    changes += rule_changes(old.rules, new.rules)
    return changes


def rule_changes(old: list[RuleSpec], new: list[RuleSpec]) -> list[Change]:
    """Rules added, removed and changed (by name), shown as `rule:<name>`."""
    before = {r.name: r for r in old}
    after = {r.name: r for r in new}
    out: list[Change] = []
    for name in [*before, *(n for n in after if n not in before)]:
        where = f"rule:{name}"
        a, b = before.get(name), after.get(name)
        if b is None:
            assert a is not None
            out.append(Change("removed", where, None, f"{a.on_failure}: {a.expr}", None))
        elif a is None:
            out.append(Change("added", where, None, None, f"{b.on_failure}: {b.expr}"))
        else:
            for attr in ("expr", "on_failure", "message"):
                x, y = getattr(a, attr), getattr(b, attr)
                if x != y:
                    kind: ChangeKind = (
                        "added" if x is None else "removed" if y is None else "changed"
                    )
                    out.append(Change(kind, where, attr, x, y))
    return out


def render_diff(old: ContractSpec, new: ContractSpec, changes: list[Change]) -> str:
    head = f"{old.subject} v{old.version} -> {new.subject} v{new.version}"
    if not changes:
        return f"{head}: no changes"
    return "\n".join([head, *(f"  {c.render()}" for c in changes)])


def summarize(fs: FieldSpec) -> str:
    """One line for a whole field: type, presence and constraints."""
    parts = [fs.type, "required" if fs.required else "optional"]
    if fs.nullable:
        parts.append("nullable")
    for attr in _FIELD_ATTRS[3:-1]:
        value = getattr(fs, attr)
        if value is not None:
            parts.append(f"{attr} {_show(value)}")
    return ", ".join(parts)


def _fields(
    old: dict[str, FieldSpec], new: dict[str, FieldSpec], prefix: str, out: list[Change]
) -> None:
    names = list(old) + [n for n in new if n not in old]
    for name in names:
        path = prefix + name
        if name not in new:
            _whole("removed", old[name], path, out)
        elif name not in old:
            _whole("added", new[name], path, out)
        else:
            _field(old[name], new[name], path, out)


def _whole(kind: ChangeKind, fs: FieldSpec, path: str, out: list[Change]) -> None:
    text = summarize(fs)
    if kind == "added":
        out.append(Change(kind, path, None, None, text))
    else:
        out.append(Change(kind, path, None, text, None))
    for child_path, child in _children(fs, path):
        _whole(kind, child, child_path, out)


def _field(a: FieldSpec, b: FieldSpec, path: str, out: list[Change]) -> None:
    for attr in _FIELD_ATTRS:
        x, y = getattr(a, attr), getattr(b, attr)
        if x == y:
            continue
        if x is None:
            out.append(Change("added", path, attr, None, y))
        elif y is None:
            out.append(Change("removed", path, attr, x, None))
        else:
            out.append(Change("changed", path, attr, x, y))
    if a.fields is not None and b.fields is not None:
        _fields(a.fields, b.fields, path + ".", out)
    elif a.items is not None and b.items is not None:
        _field(a.items, b.items, path + "[]", out)
    elif a.type != b.type:  # e.g. object -> string: the old children are gone, new ones came
        for child_path, child in _children(a, path):
            _whole("removed", child, child_path, out)
        for child_path, child in _children(b, path):
            _whole("added", child, child_path, out)


def _children(fs: FieldSpec, path: str) -> list[tuple[str, FieldSpec]]:
    if fs.fields is not None:
        return [(f"{path}.{name}", child) for name, child in fs.fields.items()]
    if fs.items is not None:
        return [(f"{path}[]", fs.items)]
    return []


def _plain(value: Any) -> Any:
    return value.model_dump(exclude_none=True) if isinstance(value, BaseModel) else value


def _show(value: Any) -> str:
    if isinstance(value, BaseModel):  # e.g. a field's drift thresholds
        value = value.model_dump(exclude_none=True)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, str) and (value == "" or any(c in value for c in " :#")):
        return repr(value)
    return str(value)
