"""Propose the next contract version from observed records.

Starting from the latest version, observations the contract refuses become changes when they
are schema evolution the format can express, and common enough not to be stray bad records
(at least `min_share` of the records, or of the parent objects or array elements, show it):

- an undeclared field is declared: optional, with its inferred type (nested objects and
  arrays included; an all-timestamp string field becomes `timestamp`);
- a required field seen absent becomes optional; a non-nullable one seen null, nullable;
- an integer field with fractional values becomes a number;
- an enum gains the values seen outside it.

A widening is applied only for values the rest of the proposed field accepts (the guard's
compiled validator decides): an enum never gains a value its length, range, pattern or
format still rejects, and an integer does not become a number for fractions its range
rejects, so the proposal never refuses what it was widened for.

Everything else is reported, never applied, for a person to decide: values outside a range,
a length or an array size (usually bad data, not a new schema), pattern and format misses,
types the format cannot express (a string where an integer was declared, mixed types), keys
a contract cannot name (`@type`, `first name`, `a.b`), and changes seen in fewer than
`min_share` of the records.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from guard.contracts.compile import compile_field
from guard.contracts.formats import is_date, is_datetime
from guard.contracts.spec import ContractSpec, FieldSpec

MIN_SHARE = 0.01
_MAX_ENUM = 50  # never widen an enum past this many values: it is not an enum any more
_MAX_VALUES = 10_000  # distinct scalar values counted per field
Scalar = str | int | float | bool


@dataclass
class Observed:
    """What was seen under one field path, across all records."""

    present: int = 0  # times the key was there (null included)
    nulls: int = 0
    types: Counter[str] = field(default_factory=Counter)
    values: Counter[tuple[str, Scalar]] = field(default_factory=Counter)  # (type, value)
    overflow: bool = False  # more distinct values than counted
    timestamps: int = 0
    dates: int = 0
    sizes: Counter[int] = field(default_factory=Counter)  # array lengths
    objects: int = 0  # how many objects `children` were collected from
    children: dict[str, Observed] = field(default_factory=dict)
    items: Observed | None = None

    def see(self, value: Any) -> None:
        self.present += 1
        if value is None:
            self.nulls += 1
            return
        kind = _json_type(value)
        self.types[kind] += 1
        if kind == "object":
            self.see_object(value)
        elif kind == "array":
            self.sizes[len(value)] += 1
            self.items = self.items or Observed()
            for item in value:
                self.items.see(item)
        else:
            if kind == "string":
                self.timestamps += is_datetime(value)
                self.dates += is_date(value)
            key = (kind, value)
            if key in self.values or len(self.values) < _MAX_VALUES:
                self.values[key] += 1
            else:
                self.overflow = True

    def see_object(self, obj: dict[str, Any]) -> None:
        self.objects += 1
        for key, value in obj.items():
            self.children.setdefault(key, Observed()).see(value)

    def count(self, test: Any) -> int:
        """How many seen values (of the counted ones) pass `test(type, value)`."""
        return sum(n for (kind, v), n in self.values.items() if test(kind, v))


def observe(records: Iterable[dict[str, Any]]) -> Observed:
    root = Observed()
    for record in records:
        root.see_object(record)
    return root


@dataclass(frozen=True)
class Proposal:
    """One change to the contract; `applied` is False for what is only reported."""

    field: str
    change: str  # stable code: field_added, made_optional, type_conflict, ...
    detail: str
    applied: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "change": self.change,
            "detail": self.detail,
            "applied": self.applied,
        }


@dataclass(frozen=True)
class Suggestion:
    spec: ContractSpec | None  # None when nothing needs to change
    proposals: list[Proposal]

    @property
    def applied(self) -> list[Proposal]:
        return [p for p in self.proposals if p.applied]

    @property
    def reported(self) -> list[Proposal]:
        return [p for p in self.proposals if not p.applied]


def suggest(
    latest: ContractSpec, observed: Observed, next_version: int, min_share: float = MIN_SHARE
) -> Suggestion:
    """The next version that accepts what was observed, as far as it is schema evolution."""
    s = _Suggester(min_share)
    fields = s.level(latest.fields, observed, "")
    if not any(p.applied for p in s.out):
        return Suggestion(None, s.out)
    raw = latest.model_dump(exclude_none=True)
    raw.update(version=next_version, status="active", fields=fields)
    return Suggestion(ContractSpec.model_validate(raw), s.out)


class _Suggester:
    def __init__(self, min_share: float) -> None:
        self.min_share = min_share
        self.out: list[Proposal] = []

    def propose(self, path: str, change: str, detail: str, seen: int, total: int) -> bool:
        """Record a change; applied only if `seen` of `total` is common enough."""
        share = seen / total if total else 0.0
        applied = seen > 0 and share >= self.min_share
        note = f"{detail} ({seen} of {total}, {share:.1%})"
        if not applied:
            note += f"; under --min-share {self.min_share:.0%}, not applied"
        self.out.append(Proposal(path, change, note, applied))
        return applied

    def report(self, path: str, change: str, detail: str) -> None:
        self.out.append(Proposal(path, change, detail, applied=False))

    def level(self, declared: dict[str, FieldSpec], obs: Observed, prefix: str) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for name, fs in declared.items():
            fields[name] = self.field(
                fs, obs.children.get(name, Observed()), obs.objects, prefix + name
            )
        for name, child in obs.children.items():
            if name in declared:
                continue
            path = prefix + name
            unnameable = _name_problem(name)
            if unnameable is not None:
                self.report(path, "name_not_allowed", unnameable)
                continue
            inferred = self.infer(child, path)
            if inferred is None:
                continue
            inferred["required"] = False
            if child.nulls:
                inferred["nullable"] = True
            if self.propose(path, "field_added", _summary(inferred), child.present, obs.objects):
                fields[name] = inferred
        return fields

    def field(self, fs: FieldSpec, obs: Observed, parents: int, path: str) -> dict[str, Any]:
        raw = fs.model_dump(exclude_none=True, exclude={"fields", "items"})
        absent = parents - obs.present
        if (
            fs.required
            and absent > 0
            and self.propose(path, "made_optional", "absent", absent, parents)
        ):
            raw["required"] = False
        if (
            obs.nulls
            and not fs.nullable
            and self.propose(path, "made_nullable", "null", obs.nulls, max(obs.present, 1))
        ):
            raw["nullable"] = True
        seen = max(obs.present - obs.nulls, 1)
        if fs.type == "integer" and obs.types["number"]:
            self.widen_type(raw, obs, path, seen)
        wrong = sorted(set(obs.types) - _ACCEPTED[raw["type"]])
        if wrong:
            self.report(path, "type_conflict", f"declared {fs.type}, seen {', '.join(wrong)}")
        if fs.enum is not None:
            self.enum(raw, fs.enum, obs, path, seen)
        else:
            self.bounds(fs, obs, path)
        if fs.type in {"timestamp", "date"}:
            valid = obs.timestamps if fs.type == "timestamp" else obs.dates
            if obs.types["string"] > valid:
                self.report(path, "format_conflict", f"{obs.types['string'] - valid} invalid")
        if fs.pattern is not None:
            misses = obs.count(lambda k, v: k == "string" and not re.search(fs.pattern, v))
            if misses:
                self.report(path, "pattern_conflict", f"{misses} values miss the pattern")
        if fs.type == "object" and fs.fields is not None:
            raw["fields"] = self.level(fs.fields, obs, path + ".")
        if fs.type == "array" and fs.items is not None:
            items = obs.items or Observed()
            raw["items"] = self.field(fs.items, items, items.present, path + "[]")
        return raw

    def widen_type(self, raw: dict[str, Any], obs: Observed, path: str, seen: int) -> None:
        """integer -> number for fractional values, unless the field's other rules (its
        range) would still reject every one of them: then the widening admits nothing."""
        detail = "integer -> number: fractional values"
        fractions = {v: n for (kind, v), n in obs.values.items() if kind == "number"}
        probe = _Probe({k: v for k, v in raw.items() if k != "enum"} | {"type": "number"})
        why = {v: probe.rejects(v) for v in fractions}
        fitting = sum(n for v, n in fractions.items() if why[v] is None)
        if fractions and not obs.overflow and not fitting:
            first = next(w for w in why.values() if w is not None)
            self.report(
                path,
                "type_widened",
                f"{detail}: not applied, the proposed field still rejects all "
                f"{len(fractions)} of them ({first})",
            )
            return
        if self.propose(path, "type_widened", detail, obs.types["number"], seen):
            raw["type"] = "number"

    def enum(
        self, raw: dict[str, Any], enum: list[Scalar], obs: Observed, path: str, seen: int
    ) -> None:
        accepted = _ACCEPTED[raw["type"]]
        known = {(_json_type(v), v) for v in enum}
        new = {
            (kind, v): n
            for (kind, v), n in obs.values.items()
            if kind in accepted and (kind, v) not in known
        }
        if not new:
            return
        if len(enum) + len(new) > _MAX_ENUM or obs.overflow:
            self.report(path, "enum_conflict", f"{len(new)} values outside the enum: too many")
            return
        added: list[Scalar] = []
        # A value joins the enum only if the rest of the field (type, range, length, pattern,
        # format) accepts it too: otherwise the proposal would reject what it just added.
        probe = _Probe({k: v for k, v in raw.items() if k != "enum"})
        for (_, v), n in sorted(new.items(), key=lambda kv: str(kv[0][1])):
            why = probe.rejects(v)
            if why is not None:
                detail = f"value {v}: the proposed field still rejects it ({why}); not applied"
                self.report(path, "enum_widened", detail)
            elif self.propose(path, "enum_widened", f"value {v}", n, seen):
                added.append(v)
        if added:
            raw["enum"] = [*enum, *added]

    def bounds(self, fs: FieldSpec, obs: Observed, path: str) -> None:
        def below(x: float | None, strict: bool) -> Any:
            return lambda k, v: x is not None and k in _NUMERIC and (v <= x if strict else v < x)

        def above(x: float | None, strict: bool) -> Any:
            return lambda k, v: x is not None and k in _NUMERIC and (v >= x if strict else v > x)

        checks = [
            ("minimum", below(fs.minimum, False)),
            ("exclusive_minimum", below(fs.exclusive_minimum, True)),
            ("maximum", above(fs.maximum, False)),
            ("exclusive_maximum", above(fs.exclusive_maximum, True)),
            (
                "min_length",
                lambda k, v: fs.min_length is not None and k == "string" and len(v) < fs.min_length,
            ),
            (
                "max_length",
                lambda k, v: fs.max_length is not None and k == "string" and len(v) > fs.max_length,
            ),
        ]
        for rule, test in checks:
            n = obs.count(test)
            if n:
                limit = getattr(fs, rule)
                self.report(path, "out_of_bounds", f"{n} values break {rule} {limit}")
        too_few = sum(c for size, c in obs.sizes.items() if size < (fs.min_items or 0))
        if too_few:
            self.report(path, "out_of_bounds", f"{too_few} arrays break min_items {fs.min_items}")
        if fs.max_items is not None:
            too_many = sum(c for size, c in obs.sizes.items() if size > fs.max_items)
            if too_many:
                detail = f"{too_many} arrays break max_items {fs.max_items}"
                self.report(path, "out_of_bounds", detail)

    def infer(self, obs: Observed, path: str) -> dict[str, Any] | None:
        """A spec for an undeclared field, or None (reported) when it cannot be expressed."""
        types = set(obs.types)
        if types == {"integer", "number"}:
            types = {"number"}
        if not types:
            self.report(path, "type_unknown", "only nulls seen; declare it by hand")
            return None
        if len(types) > 1:
            self.report(path, "type_conflict", f"mixed types: {', '.join(sorted(types))}")
            return None
        kind = types.pop()
        strings = obs.types["string"]
        if kind == "string" and strings and obs.timestamps == strings:
            return {"type": "timestamp"}
        if kind == "string" and strings and obs.dates == strings:
            return {"type": "date"}
        if kind == "object":
            fields = self.level({}, obs, path + ".")
            if not fields:
                self.report(path, "type_unknown", "no common fields seen; declare it by hand")
                return None
            return {"type": "object", "fields": fields}
        if kind == "array":
            if obs.items is None or not obs.items.types:
                self.report(path, "type_unknown", "only empty arrays seen; declare it by hand")
                return None
            items = self.infer(obs.items, path + "[]")
            if items is None:
                return None
            if obs.items.nulls:
                items["nullable"] = True
            return {"type": "array", "items": items}
        return {"type": kind}


_NUMERIC = {"integer", "number"}
# Which observed JSON types a declared type accepts.
_ACCEPTED: dict[str, set[str]] = {
    "string": {"string"},
    "timestamp": {"string"},
    "date": {"string"},
    "integer": {"integer"},
    "number": {"integer", "number"},
    "boolean": {"boolean"},
    "object": {"object"},
    "array": {"array"},
}


def to_yaml(spec: ContractSpec) -> str:
    """The contract as a YAML file in the repository's style (leaf fields on one line)."""
    body = spec.model_dump(exclude_none=True, exclude_defaults=True)
    ordered: dict[str, Any] = {k: body[k] for k in ("subject", "version") if k in body}
    ordered.update({k: v for k, v in body.items() if k not in ordered})
    if spec.status != "active":
        ordered["status"] = spec.status
    ordered["fields"] = {k: _flow(v) for k, v in ordered["fields"].items()}
    text: str = yaml.dump(
        ordered, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100
    )
    return text


class _FlowMap(dict[str, Any]):
    """A field mapping written on one line, as in the hand-written contracts."""


class _Dumper(yaml.SafeDumper):
    pass


def _represent_flow(dumper: yaml.SafeDumper, data: _FlowMap) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)


_Dumper.add_representer(_FlowMap, _represent_flow)


def _flow(raw: dict[str, Any]) -> dict[str, Any]:
    if "fields" in raw:
        return {**raw, "fields": {k: _flow(v) for k, v in raw["fields"].items()}}
    if "items" in raw:
        return {**raw, "items": _flow(raw["items"])}
    return _FlowMap(raw)


def _summary(raw: dict[str, Any]) -> str:
    text = str(raw["type"])
    if raw["type"] == "object" and raw.get("fields"):
        text += " {" + ", ".join(raw["fields"]) + "}"
    if raw["type"] == "array":
        text += " of " + _summary(raw["items"])
    return text


class _Probe:
    """One proposed scalar field, compiled once, asked about single values: the guard's own
    validator decides, so what the proposal accepts is what the guard will accept."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.model: type[BaseModel] | None = None
        self.broken = ""  # why the field itself does not compile, when it does not
        try:
            fs = FieldSpec.model_validate(raw | {"required": True, "nullable": False})
            self.model = compile_field(fs)
        except (ValidationError, ValueError) as exc:
            self.broken = _first_error(exc)

    def rejects(self, value: Scalar) -> str | None:
        """Why the field rejects `value`, or None when it accepts it."""
        if self.model is None:
            return self.broken
        try:
            self.model.model_validate({"v": value})
        except ValidationError as exc:
            return _first_error(exc)
        return None


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False)
        if errors:
            return str(errors[0]["msg"]).removeprefix("Value error, ")
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


@functools.lru_cache(maxsize=1024)
def _name_problem(name: str) -> str | None:
    """Why `name` cannot be a field name in a contract (None when it can): the spec decides."""
    try:
        FieldSpec(type="object", fields={name: FieldSpec(type="boolean")})
    except ValidationError as exc:
        why = _first_error(exc)
        return (
            f"name not allowed in a contract: {name!r} ({why}); rename it in the producer, "
            "or leave it undeclared"
        )
    return None


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"  # 1.0 is not an integer to the guard
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "unknown"
