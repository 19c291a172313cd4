"""Find and strip fields a contract does not declare, walking the decoded record once.

Used for the `allow` (report) and `strip` (remove) policies; `reject` is enforced by the
compiled model itself. The walk only descends where the contract declares nested objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from guard.contracts.spec import FieldSpec, UnknownFieldPolicy


@dataclass(frozen=True, slots=True)
class Shape:
    """Known keys of one object level, and the shapes of its nested objects."""

    known: frozenset[str]
    policy: UnknownFieldPolicy
    children: dict[str, Shape] = field(default_factory=dict)
    array_children: dict[str, Shape] = field(default_factory=dict)

    @classmethod
    def of(cls, fields: dict[str, FieldSpec], policy: UnknownFieldPolicy) -> Shape:
        children: dict[str, Shape] = {}
        arrays: dict[str, Shape] = {}
        for name, fs in fields.items():
            if fs.type == "object" and fs.fields:
                children[name] = cls.of(fs.fields, fs.unknown_fields or policy)
            elif fs.type == "array" and fs.items is not None and fs.items.fields:
                arrays[name] = cls.of(fs.items.fields, fs.items.unknown_fields or policy)
        return cls(frozenset(fields), policy, children, arrays)

    @property
    def tolerates_unknown(self) -> bool:
        """Whether any level lets unknown fields pass (allow/strip), so they must be reported."""
        return (
            self.policy != "reject"
            or any(c.tolerates_unknown for c in self.children.values())
            or any(c.tolerates_unknown for c in self.array_children.values())
        )

    @property
    def strips(self) -> bool:
        """Whether any level of this shape has the `strip` policy."""
        return (
            self.policy == "strip"
            or any(c.strips for c in self.children.values())
            or any(c.strips for c in self.array_children.values())
        )

    def unknown_paths(self, obj: dict[str, Any], prefix: str = "") -> list[str]:
        """Dotted paths of undeclared keys (`items[].extra` for keys inside array items)."""
        found = [prefix + k for k in obj.keys() - self.known]
        for name, shape in self.children.items():
            child = obj.get(name)
            if isinstance(child, dict):
                found.extend(shape.unknown_paths(child, f"{prefix}{name}."))
        for name, shape in self.array_children.items():
            items = obj.get(name)
            if isinstance(items, list):
                for item in items:
                    if isinstance(item, dict):
                        found.extend(shape.unknown_paths(item, f"{prefix}{name}[]."))
        return sorted(set(found))

    def strip(self, obj: dict[str, Any]) -> dict[str, Any]:
        """A copy of `obj` without undeclared keys at every level whose policy is `strip`."""
        out = (
            {k: v for k, v in obj.items() if k in self.known}
            if self.policy == "strip"
            else dict(obj)
        )
        for name, shape in self.children.items():
            child = out.get(name)
            if isinstance(child, dict):
                out[name] = shape.strip(child)
        for name, shape in self.array_children.items():
            items = out.get(name)
            if isinstance(items, list):
                out[name] = [shape.strip(i) if isinstance(i, dict) else i for i in items]
        return out
