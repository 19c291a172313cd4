"""Validate the flattened tables lazily with the pandera schemas derived from the contract."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandera.pandas as pa

from guard.contracts.spec import ContractSpec
from guard.reports.flatten import Missing, Table, layout
from guard.reports.frames import raw_frame
from guard.reports.pandera_schema import pandera_schemas

_VALUE_CHARS = 80


@dataclass(frozen=True)
class FailureCase:
    field: str
    check: str
    row: int | None  # record number in the current data
    origin: str | None  # file:line
    value: str | None  # JSON text of the value, only with show_values

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "check": self.check,
            "row": self.row,
            "origin": self.origin,
            "value": self.value,
        }


@dataclass
class ContractFailures:
    total: int = 0
    by_check: Counter[tuple[str, str]] = field(default_factory=Counter)
    cases: list[FailureCase] = field(default_factory=list)  # the first `limit` only

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_check": [
                {"field": f, "check": c, "count": n} for (f, c), n in self.by_check.most_common()
            ],
            "cases": [c.to_json() for c in self.cases],
            "cases_shown": len(self.cases),
        }


def run_pandera(
    spec: ContractSpec,
    tables: dict[str, Table],
    origins: list[str],
    show_values: bool,
    limit: int = 1000,
) -> ContractFailures:
    lay = layout(spec)
    out = ContractFailures()
    for name, schema in pandera_schemas(spec).items():
        table = tables[name]
        if not len(table):
            continue
        frame = raw_frame(table, [c.path for c in lay.in_table(name)])
        try:
            schema.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as exc:
            _collect(exc.failure_cases, origins, show_values, limit, out)
    return out


def _collect(
    cases: Any, origins: list[str], show_values: bool, limit: int, out: ContractFailures
) -> None:
    for column, check, value, index in zip(
        cases["column"], cases["check"], cases["failure_case"], cases["index"], strict=True
    ):
        field_name = str(column) if column is not None else "(table)"
        check_name = str(check)
        out.total += 1
        out.by_check[(field_name, check_name)] += 1
        if len(out.cases) >= limit:
            continue
        row = int(index) if isinstance(index, int | float) and index == index else None
        out.cases.append(
            FailureCase(
                field=field_name,
                check=check_name,
                row=row,
                origin=origins[row] if row is not None and row < len(origins) else None,
                value=repr(value)
                if isinstance(value, Missing)
                else _show(value)
                if show_values
                else None,
            )
        )


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, default=str)
    except ValueError:
        text = str(value)
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"
