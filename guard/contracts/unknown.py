"""Find and strip fields a contract does not declare, walking the decoded record once.

Used for the `allow` (report) and `strip` (remove) policies; `reject` is enforced by the
compiled model itself. The walk only descends where the contract declares nested objects,
through arrays of any depth (`items[].x`, `matrix[][].y`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from guard.contracts.spec import FieldSpec, UnknownFieldPolicy


@dataclass(frozen=True, slots=True)
class ArrayOf:
    """An array whose items (or their items...) are objects with a declared shape."""

    item: Shape | ArrayOf


@dataclass(frozen=True, slots=True)
class Shape:
    """Known keys of one object level, and the nodes below it that hold objects."""

    known: frozenset[str]
    policy: UnknownFieldPolicy
    children: dict[str, Shape | ArrayOf] = field(default_factory=dict)
    # Whether any level lets unknown fields pass (allow/strip), so they must be reported, and
    # whether any level strips them: fixed by the contract, so worked out once, not per record.
    tolerates_unknown: bool = field(init=False)
    strips: bool = field(init=False)

    def __post_init__(self) -> None:
        below = [_shape(n) for n in self.children.values()]
        tolerant = self.policy != "reject" or any(b.tolerates_unknown for b in below)
        object.__setattr__(self, "tolerates_unknown", tolerant)
        object.__setattr__(self, "strips", self.policy == "strip" or any(b.strips for b in below))

    @classmethod
    def of(cls, fields: dict[str, FieldSpec], policy: UnknownFieldPolicy) -> Shape:
        children = {}
        for name, fs in fields.items():
            node = _node(fs, policy)
            if node is not None:
                children[name] = node
        return cls(frozenset(fields), policy, children)

    def unknown_paths(self, obj: dict[str, Any], prefix: str = "") -> list[str]:
        """Dotted paths of undeclared keys (`items[].extra` for keys inside array items)."""
        if self.declares_all(obj):  # the usual record: key-set tests only, no paths built
            return []
        return self.walk(obj, prefix)

    def walk(self, obj: dict[str, Any], prefix: str = "") -> list[str]:
        """`unknown_paths` without the quick test first (what that test must agree with)."""
        extra = obj.keys() - self.known
        found = [prefix + k for k in extra] if extra else []
        for name, node in self.children.items():
            child = obj.get(name)
            if child is not None:
                found.extend(_unknown(node, child, f"{prefix}{name}"))
        if len(found) > 1:
            found = sorted(set(found))
        return found

    def declares_all(self, obj: dict[str, Any]) -> bool:
        """Whether every key of `obj`, at every level this shape declares, is declared."""
        if not obj.keys() <= self.known:
            return False
        for name, node in self.children.items():
            child = obj.get(name)
            if child is not None and not _declares_all(node, child):
                return False
        return True

    def strip(self, obj: dict[str, Any]) -> dict[str, Any]:
        """A copy of `obj` without undeclared keys at every level whose policy is `strip`."""
        out = (
            {k: v for k, v in obj.items() if k in self.known}
            if self.policy == "strip"
            else dict(obj)
        )
        for name, node in self.children.items():
            if name in out:
                out[name] = _strip(node, out[name])
        return out


def _node(fs: FieldSpec, policy: UnknownFieldPolicy) -> Shape | ArrayOf | None:
    if fs.type == "object" and fs.fields:
        return Shape.of(fs.fields, fs.unknown_fields or policy)
    if fs.type == "array" and fs.items is not None:
        inner = _node(fs.items, policy)
        return ArrayOf(inner) if inner is not None else None
    return None


def _shape(node: Shape | ArrayOf) -> Shape:
    while isinstance(node, ArrayOf):
        node = node.item
    return node


def _unknown(node: Shape | ArrayOf, value: Any, path: str) -> list[str]:
    if isinstance(node, Shape):
        return node.walk(value, f"{path}.") if isinstance(value, dict) else []
    if not isinstance(value, list):
        return []
    item = node.item
    if isinstance(item, Shape) and not item.children:
        # Objects with no declared objects below (line items): a C-level key-set test per item
        # passes the usual all-declared basket without a call per item.
        known = item.known
        value = [v for v in value if type(v) is dict and not v.keys() <= known]
        if not value:
            return []
    return [p for v in value for p in _unknown(item, v, f"{path}[]")]


def _declares_all(node: Shape | ArrayOf, value: Any) -> bool:
    if isinstance(node, Shape):
        return not isinstance(value, dict) or node.declares_all(value)
    if not isinstance(value, list):
        return True
    item = node.item
    if isinstance(item, Shape) and not item.children:
        # Line items: when every item is an object (as a passing record's are), one C-level
        # test over all their keys at once.
        if set(map(type, value)) <= _DICT:
            return item.known.issuperset(chain.from_iterable(value))
        return all(type(v) is not dict or v.keys() <= item.known for v in value)
    return all(_declares_all(item, v) for v in value)


_DICT = {dict}


def _strip(node: Shape | ArrayOf, value: Any) -> Any:
    if isinstance(node, Shape):
        return node.strip(value) if isinstance(value, dict) else value
    if not isinstance(value, list):
        return value
    return [_strip(node.item, item) for item in value]
