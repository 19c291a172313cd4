"""Compatibility between contract versions, with Schema Registry's modes.

The one question underneath every mode: can a consumer whose contract is R (the *reader*)
accept every record that a contract W (the *writer*) accepts? A change is safe for that pair
only if W's valid records are a subset of R's. Then, as in Schema Registry:

- BACKWARD: reader = new version, writer = old version (new consumers read old data);
- FORWARD: reader = old version, writer = new version (old consumers read new data);
- FULL: both; the plain modes compare each version with the one before it, the
  `_TRANSITIVE` modes with every earlier version (retired ones included); NONE checks nothing.

Record-level rules for JSON objects (`unknown_fields`). The records in question are what
producers send, which the guard validates raw: `allow` accepts records with undeclared keys,
and so does `strip` (it removes them only afterwards, from the clean copy), so as writers
both are "open": their records may carry any extra key with any value. Only `reject` is
"closed". As a reader, `allow` and `strip` tolerate extras, `reject` does not. Hence, like
Schema Registry's JSON Schema rules: adding an optional field is safe only when the writer
was closed (`reject`); removing a field is safe only when the reader tolerates extras; and
closing an object (`allow`/`strip` -> `reject`) is a FORWARD-only change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from guard.compat_modes import Mode
from guard.contracts.compile import compile_field
from guard.contracts.diff import summarize
from guard.contracts.rule_compat import rule_findings
from guard.contracts.spec import INT64_MAX, INT64_MIN, ContractSpec, FieldSpec, UnknownFieldPolicy

Direction = Literal["backward", "forward"]
_DIRECTIONS: dict[str, tuple[Direction, ...]] = {
    "BACKWARD": ("backward",),
    "FORWARD": ("forward",),
    "FULL": ("backward", "forward"),
    "NONE": (),
}
RECORD = "(record)"
# Writer policies whose valid (raw) records may carry undeclared keys: `strip` accepts them
# like `allow` and removes them only from the clean copy it forwards.
_OPEN: frozenset[UnknownFieldPolicy] = frozenset({"allow", "strip"})


@dataclass(frozen=True)
class Finding:
    """One reason the reader may refuse a record the writer accepts."""

    field: str
    rule: str
    reader: str  # the reader's side of the change, as text
    writer: str
    why: str


@dataclass(frozen=True)
class Break:
    """A compatibility break between two versions of one subject, in `old -> new` terms."""

    subject: str
    old_version: int
    new_version: int
    direction: Direction
    field: str
    rule: str
    old: str
    new: str
    why: str

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "direction": self.direction,
            "field": self.field,
            "rule": self.rule,
            "old": self.old,
            "new": self.new,
            "why": self.why,
        }


def readable(reader: ContractSpec, writer: ContractSpec) -> list[Finding]:
    """Why the reader contract may reject records the writer contract accepts ([] if never)."""
    ctx = _Ctx(f"v{reader.version}", f"v{writer.version}")
    ctx.level(reader.fields, writer.fields, reader.unknown_fields, writer.unknown_fields, "")
    ctx.found += [Finding(*f) for f in rule_findings(reader, writer)]
    return ctx.found


def check_pair(old: ContractSpec, new: ContractSpec, mode: Mode) -> list[Break]:
    """Breaks of `new` against `old` under `mode` (the `_TRANSITIVE` suffix is ignored here)."""
    breaks: list[Break] = []
    for direction in _DIRECTIONS[mode.removesuffix("_TRANSITIVE")]:
        backward = direction == "backward"
        reader, writer = (new, old) if backward else (old, new)
        for f in readable(reader=reader, writer=writer):
            old_side, new_side = (f.writer, f.reader) if backward else (f.reader, f.writer)
            breaks.append(
                Break(
                    old.subject,
                    old.version,
                    new.version,
                    direction,
                    f.field,
                    f.rule,
                    old_side,
                    new_side,
                    f.why,
                )
            )
    return breaks


def check_new_version(
    history: Sequence[ContractSpec], new: ContractSpec, mode: Mode
) -> list[Break]:
    """What registering `new` after `history` would break: the registry's check on submit."""
    earlier = sorted((s for s in history if s.version < new.version), key=lambda s: s.version)
    if not earlier:
        return []
    against = earlier if mode.endswith("_TRANSITIVE") else earlier[-1:]
    return [b for old in against for b in check_pair(old, new, mode)]


def check_history(specs: Sequence[ContractSpec], mode: Mode) -> list[Break]:
    """Every version checked as if registered in order: each against its predecessor(s)."""
    ordered = sorted(specs, key=lambda s: s.version)
    return [b for i, new in enumerate(ordered) for b in check_new_version(ordered[:i], new, mode)]


class _Ctx:
    def __init__(self, reader: str, writer: str) -> None:
        self.r = reader
        self.w = writer
        self.found: list[Finding] = []

    def add(self, field: str, rule: str, reader: object, writer: object, why: str) -> None:
        self.found.append(Finding(field or RECORD, rule, _text(reader), _text(writer), why))

    def level(
        self,
        r_fields: dict[str, FieldSpec],
        w_fields: dict[str, FieldSpec],
        r_policy: UnknownFieldPolicy,
        w_policy: UnknownFieldPolicy,
        prefix: str,
    ) -> None:
        r, w = self.r, self.w
        where = prefix.rstrip(".") or RECORD
        w_open = w_policy in _OPEN
        if w_open and r_policy == "reject":
            self.add(
                where,
                "unknown_fields",
                "unknown_fields: reject",
                f"unknown_fields: {w_policy}",
                f"{w} accepts records with undeclared fields at {where}, {r} rejects them",
            )
        for name in [n for n in r_fields if n not in w_fields]:
            fs, path = r_fields[name], prefix + name
            if fs.required:
                self.add(
                    path,
                    "field_missing",
                    summarize(fs),
                    "(absent)",
                    f"{r} requires '{path}', records written with {w} do not have it",
                )
            elif w_open:
                self.add(
                    path,
                    "field_unconstrained",
                    summarize(fs),
                    f"(undeclared, {w_policy})",
                    f"{w} accepts undeclared fields ({w_policy}), so its records may carry "
                    f"'{path}' with any value; {r} constrains it",
                )
        for name in [n for n in w_fields if n not in r_fields]:
            path = prefix + name
            if r_policy == "reject":
                self.add(
                    path,
                    "field_undeclared",
                    "(undeclared, rejected)",
                    summarize(w_fields[name]),
                    f"{w} records may carry '{path}', {r} rejects undeclared fields",
                )
        for name in [n for n in w_fields if n in r_fields]:
            self.field(r_fields[name], w_fields[name], prefix + name, r_policy, w_policy)

    def field(
        self,
        rf: FieldSpec,
        wf: FieldSpec,
        path: str,
        r_policy: UnknownFieldPolicy,
        w_policy: UnknownFieldPolicy,
    ) -> None:
        r, w = self.r, self.w
        if rf.required and not wf.required:
            self.add(
                path,
                "required",
                "required",
                "optional",
                f"'{path}' is optional in {w}, {r} requires it",
            )
        if wf.nullable and not rf.nullable:
            self.add(
                path,
                "nullable",
                "nullable: false",
                "nullable: true",
                f"{w} allows null in '{path}', {r} does not",
            )
        if wf.enum is not None and rf.type not in {"object", "array"}:
            # A finite value set: ask the reader about each value (type included).
            reader = compile_field(rf.model_copy(update={"required": True, "nullable": False}))
            rejected = [v for v in wf.enum if not _accepts(reader, v)]
            if rejected:
                self.add(
                    path,
                    "values",
                    summarize(rf),
                    f"enum {_text(wf.enum)}",
                    f"{r} rejects {_text(rejected)}, which {w} allows in '{path}'",
                )
            return
        if not self._types(rf, wf, path):
            return
        if rf.type == "object":
            assert rf.fields is not None and wf.fields is not None
            self.level(
                rf.fields,
                wf.fields,
                rf.unknown_fields or r_policy,
                wf.unknown_fields or w_policy,
                path + ".",
            )
            return
        if rf.type == "array":
            assert rf.items is not None and wf.items is not None
            self._bounds(path, "items", rf.min_items, rf.max_items, wf.min_items, wf.max_items)
            self.field(rf.items, wf.items, path + "[]", r_policy, w_policy)
            return
        if rf.enum is not None:
            self.add(
                path,
                "enum",
                f"enum {_text(rf.enum)}",
                "(no enum)",
                f"{r} restricts '{path}' to a value set, {w} does not",
            )
        if rf.type in {"integer", "number"}:
            self._range(rf, wf, path)
        if rf.type == "string":
            self._bounds(path, "length", rf.min_length, rf.max_length, wf.min_length, wf.max_length)
            if rf.pattern is not None and rf.pattern != wf.pattern:
                self.add(
                    path,
                    "pattern",
                    f"pattern {rf.pattern}",
                    f"pattern {wf.pattern}" if wf.pattern else "(no pattern)",
                    f"{r}'s pattern for '{path}' may reject values {w} accepts",
                )
            w_format = wf.format or _IMPLIED_FORMAT.get(wf.type)
            if rf.format is not None and rf.format != w_format:
                self.add(
                    path,
                    "format",
                    f"format {rf.format}",
                    f"format {w_format}" if w_format else "(no format)",
                    f"{r} requires format {rf.format} in '{path}', {w} does not",
                )

    def _types(self, rf: FieldSpec, wf: FieldSpec, path: str) -> bool:
        """Whether the writer's type fits the reader's; records a finding when it does not."""
        rt, wt = rf.type, wf.type
        if rt == wt or (rt == "number" and wt == "integer"):
            return True
        if rt == "string" and wt in _IMPLIED_FORMAT:
            return True  # a timestamp/date is a string; string constraints are checked next
        if rt in _IMPLIED_FORMAT and wt == "string" and wf.format == _IMPLIED_FORMAT[rt]:
            # The same values; a timestamp/date has no constraint left to compare but an enum.
            return rf.enum is not None or wf.enum is not None
        self.add(
            path,
            "type",
            f"type {rt}",
            f"type {wt}",
            f"'{path}' is {wt} in {self.w}, {self.r} expects {rt}",
        )
        return False

    def _range(self, rf: FieldSpec, wf: FieldSpec, path: str) -> None:
        r_lo, r_hi = _interval(rf)
        w_lo, w_hi = _interval(wf)
        if _lower_narrower(r_lo, w_lo):
            self.add(
                path,
                "minimum",
                _bound_text("minimum", r_lo),
                _bound_text("minimum", w_lo),
                f"{self.r} raises the lower bound of '{path}'",
            )
        if _lower_narrower((-r_hi[0], r_hi[1]), (-w_hi[0], w_hi[1])):
            self.add(
                path,
                "maximum",
                _bound_text("maximum", r_hi),
                _bound_text("maximum", w_hi),
                f"{self.r} lowers the upper bound of '{path}'",
            )

    def _bounds(
        self,
        path: str,
        what: str,
        r_min: int | None,
        r_max: int | None,
        w_min: int | None,
        w_max: int | None,
    ) -> None:
        if (r_min or 0) > (w_min or 0):
            self.add(
                path,
                f"min_{what}",
                f"min_{what} {r_min}",
                f"min_{what} {w_min}" if w_min is not None else f"(no min_{what})",
                f"{self.r} needs at least {r_min} {what} in '{path}'",
            )
        if r_max is not None and (w_max is None or r_max < w_max):
            self.add(
                path,
                f"max_{what}",
                f"max_{what} {r_max}",
                f"max_{what} {w_max}" if w_max is not None else f"(no max_{what})",
                f"{self.r} allows at most {r_max} {what} in '{path}'",
            )


_IMPLIED_FORMAT = {"timestamp": "date-time", "date": "date"}

# A bound is (value, exclusive); open ends are infinite and inclusive. Values keep the type the
# contract gave them (Python compares int with float exactly): as floats, integer bounds past
# 2**53 would round together, and 10**16 vs 10**16 - 1 would look the same.
_Bound = tuple[int | float, bool]


def _interval(fs: FieldSpec) -> tuple[_Bound, _Bound]:
    whole = fs.type == "integer"  # its bounds are whole numbers (the spec says so): exact ints
    exact = (lambda v: int(v)) if whole else (lambda v: v)
    lo: _Bound = (INT64_MIN, False) if whole else (-math.inf, False)
    hi: _Bound = (INT64_MAX, False) if whole else (math.inf, False)
    if fs.minimum is not None:
        lo = (exact(fs.minimum), False)
    if fs.exclusive_minimum is not None and fs.exclusive_minimum >= lo[0]:
        lo = (exact(fs.exclusive_minimum), True)
    if fs.maximum is not None:
        hi = (exact(fs.maximum), False)
    if fs.exclusive_maximum is not None and fs.exclusive_maximum <= hi[0]:
        hi = (exact(fs.exclusive_maximum), True)
    if whole:  # an exclusive integer bound is the next whole number, inclusive
        if lo[1]:
            lo = (lo[0] + 1, False)
        if hi[1]:
            hi = (hi[0] - 1, False)
    return lo, hi


def _lower_narrower(reader: _Bound, writer: _Bound) -> bool:
    """Whether the reader's lower bound excludes values the writer's admits."""
    if reader[0] != writer[0]:
        return reader[0] > writer[0]
    return reader[1] and not writer[1]


def _bound_text(name: str, bound: _Bound) -> str:
    value, exclusive = bound
    if math.isinf(value) or abs(value) >= 2**63 - 1024:
        return f"(no {name})"
    shown = int(value) if isinstance(value, int) or value.is_integer() else value
    return f"exclusive_{name} {shown}" if exclusive else f"{name} {shown}"


def _accepts(reader: type[BaseModel], value: object) -> bool:
    """Whether a compiled one-field reader accepts one concrete value."""
    try:
        reader.model_validate({"v": value})
    except ValidationError:
        return False
    return True


def _text(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
