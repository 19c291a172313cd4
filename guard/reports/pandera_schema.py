"""Derive pandera schemas from a contract, one per flattened table (see guard.reports.flatten).

Columns hold the decoded JSON values untouched (object dtype), so a wrong type is reported
per row, with its value, instead of failing a whole-column dtype check. A key missing from
its object holds the ABSENT marker (checked by `required`), an explicit null is null
(checked by `nullable`), and anything under a missing object holds UNDER_MISSING, which
every check lets pass: the object's own column reports it. Each contract rule
becomes one element-wise check whose verdict comes from the guard's own compiled validator
for that rule alone, so pandera and the Kafka hot path can never disagree on what a rule
means; the check's name says which rule (`type(integer)`, `range(minimum 1)`, `enum(...)`).
Undeclared fields under an `unknown_fields: reject` object are matched by a regex column
whose check fails for every value present.

Imports pandera (and pandas): only the drift report loads this module.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import pandera.pandas as pa
from pydantic import ValidationError

from guard.contracts.compile import compile_field
from guard.contracts.rule_notes import enforced_by_guard
from guard.contracts.spec import ContractSpec, FieldSpec
from guard.reports.flatten import ABSENT, Column, Layout, Level, Missing, layout

UNDECLARED = "undeclared_field"


def pandera_schemas(spec: ContractSpec) -> dict[str, pa.DataFrameSchema]:
    """table name -> schema for the flattened frame of that table."""
    lay = layout(spec)
    return {table: _table_schema(spec, lay, table) for table in lay.tables}


def _table_schema(spec: ContractSpec, lay: Layout, table: str) -> pa.DataFrameSchema:
    columns: dict[str, pa.Column] = {}
    for col in lay.in_table(table):
        columns[col.path] = pa.Column(
            None, checks=rule_checks(col), nullable=col.spec.nullable, required=True, name=col.path
        )
    for level in lay.levels:
        if level.table == table and level.policy == "reject":
            pattern = undeclared_pattern(level)
            columns[pattern] = pa.Column(
                None,
                checks=[
                    pa.Check(
                        _never,
                        element_wise=True,
                        ignore_na=False,  # a null under an undeclared key is still the key
                        name=UNDECLARED,
                        error=UNDECLARED,
                    )
                ],
                nullable=True,
                required=False,
                regex=True,
            )
    name = f"{spec.subject}.v{spec.version}" + (f".{table}" if table else "")
    # Contract rules (CEL across fields) are not approximated: listed, enforced by the guard.
    metadata = {"enforced_by_guard": enforced_by_guard(spec)} if spec.rules else None
    return pa.DataFrameSchema(columns, name=name, strict=False, coerce=False, metadata=metadata)


def undeclared_pattern(level: Level) -> str:
    """Columns of `level`'s table that are keys of that object level but not declared there."""
    names = "|".join(re.escape(n) for n in sorted(level.declared))
    return rf"^{re.escape(level.prefix)}(?!(?:{names})(?:$|\.|\[)).+$"


def rule_checks(col: Column) -> list[pa.Check]:
    fs = col.spec
    checks: list[pa.Check] = []
    if fs.required and not col.element:
        checks.append(pa.Check(_not_absent, element_wise=True, name="required", error="required"))
    test = _TYPE_TESTS[fs.type]

    def is_type(value: Any) -> bool:
        return isinstance(value, Missing) or test(value)

    checks.append(pa.Check(is_type, element_wise=True, name="type", error=f"type({fs.type})"))
    for rule, probe in _rule_probes(fs):
        checks.append(
            pa.Check(_probe_check(is_type, probe), element_wise=True, name=rule, error=rule)
        )
    return checks


def _rule_probes(fs: FieldSpec) -> list[tuple[str, FieldSpec]]:
    """(check name, a spec with just that rule) for each rule the field has besides its type."""
    base: dict[str, Any] = {"type": fs.type}
    probes: list[tuple[str, FieldSpec]] = []

    def add(name: str, **rule: Any) -> None:
        probes.append((name, FieldSpec.model_validate({**base, **rule})))

    if fs.type in {"integer", "number"}:
        bounds = {
            k: getattr(fs, k)
            for k in ("minimum", "maximum", "exclusive_minimum", "exclusive_maximum")
            if getattr(fs, k) is not None
        }
        if bounds:
            add("range(" + ", ".join(f"{k} {v}" for k, v in bounds.items()) + ")", **bounds)
        elif fs.type == "integer":
            add("range(int64)")
    if fs.enum is not None:
        add("enum(" + ", ".join(str(v) for v in fs.enum) + ")", enum=fs.enum)
    if fs.min_length is not None or fs.max_length is not None:
        lengths = {"min_length": fs.min_length, "max_length": fs.max_length}
        shown = ", ".join(f"{k.split('_')[0]} {v}" for k, v in lengths.items() if v is not None)
        add(f"length({shown})", **{k: v for k, v in lengths.items() if v is not None})
    if fs.pattern is not None:
        add(f"pattern({fs.pattern})", pattern=fs.pattern)
    if fs.format is not None:
        add(f"format({fs.format})", format=fs.format)
    if fs.type in {"timestamp", "date"}:
        add(f"format({'date-time' if fs.type == 'timestamp' else 'date'})")
    if fs.type == "array" and (fs.min_items is not None or fs.max_items is not None):
        counts = {"min_items": fs.min_items, "max_items": fs.max_items}
        shown = ", ".join(f"{k.split('_')[0]} {v}" for k, v in counts.items() if v is not None)
        # The elements are checked in their own table; here only their count matters.
        add(
            f"items({shown})",
            items={"type": "boolean", "nullable": True},
            **{k: v for k, v in counts.items() if v is not None},
        )
    return probes


def _probe_check(is_type: Callable[[Any], bool], probe: FieldSpec) -> Callable[[Any], bool]:
    model = compile_field(probe)

    def check(value: Any) -> bool:
        if isinstance(value, Missing) or not is_type(value):
            return True  # the required and type checks report it
        if isinstance(value, list):  # only the count: elements are judged in their own table
            value = [None] * len(value)
        try:
            model.model_validate({"v": value})
        except ValidationError:
            return False
        return True

    return check


def _never(value: Any) -> bool:
    """An undeclared field may not be there: fails for any value, passes where it is not."""
    return isinstance(value, Missing)


def _not_absent(value: Any) -> bool:
    return value is not ABSENT


def _is_number(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    return isinstance(v, int) or (isinstance(v, float) and math.isfinite(v))


_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "timestamp": lambda v: isinstance(v, str),
    "date": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}
