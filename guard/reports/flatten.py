"""Flatten records into tables whose columns are derived from the contract.

Nested objects become dotted columns (`shipping.country`). Every array field also gets a
table of its own, one row per element (`items[]`, with columns `items[].sku`, ...), whose
rows remember the record they came from. Undeclared keys become extra columns of the table
they were found in, so undeclared fields can be reported and, where the contract rejects
them, checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from guard.contracts.spec import ContractSpec, FieldSpec, UnknownFieldPolicy

ROOT = ""  # the name of the records table


@dataclass(frozen=True)
class Column:
    """A declared field as a column of one table."""

    path: str  # the column name: `amount`, `shipping.country`, `items[]`, `items[].qty`
    table: str  # ROOT or the array path the rows are elements of (`items[]`)
    spec: FieldSpec
    nullable: bool  # whether a valid record may leave it missing (absent or null)

    @property
    def element(self) -> bool:
        """The column holding array elements themselves (`items[]` in table `items[]`)."""
        return self.path == self.table


@dataclass(frozen=True)
class Level:
    """One object level: where undeclared keys are judged."""

    prefix: str  # '' for the record, `shipping.`, `items[].`
    table: str
    declared: frozenset[str]
    policy: UnknownFieldPolicy


@dataclass(frozen=True)
class Layout:
    columns: list[Column]
    levels: list[Level]

    @property
    def tables(self) -> list[str]:
        return list(dict.fromkeys(c.table for c in self.columns))

    def in_table(self, table: str) -> list[Column]:
        return [c for c in self.columns if c.table == table]


def layout(spec: ContractSpec) -> Layout:
    columns: list[Column] = []
    levels: list[Level] = []
    _object_layout(spec.fields, spec.unknown_fields, "", ROOT, False, columns, levels)
    return Layout(columns, levels)


def _object_layout(
    fields: dict[str, FieldSpec],
    policy: UnknownFieldPolicy,
    prefix: str,
    table: str,
    optional_parent: bool,
    columns: list[Column],
    levels: list[Level],
) -> None:
    levels.append(Level(prefix, table, frozenset(fields), policy))
    for name, fs in fields.items():
        _field_layout(fs, prefix + name, table, optional_parent, policy, columns, levels)


def _field_layout(
    fs: FieldSpec,
    path: str,
    table: str,
    optional_parent: bool,
    policy: UnknownFieldPolicy,
    columns: list[Column],
    levels: list[Level],
) -> None:
    missing_ok = optional_parent or fs.nullable or not fs.required
    columns.append(Column(path, table, fs, missing_ok))
    if fs.type == "object" and fs.fields is not None:
        child_policy = fs.unknown_fields or policy
        _object_layout(fs.fields, child_policy, path + ".", table, missing_ok, columns, levels)
    elif fs.type == "array" and fs.items is not None:
        _element_layout(fs.items, path + "[]", policy, columns, levels)


def _element_layout(
    items: FieldSpec,
    element: str,
    policy: UnknownFieldPolicy,
    columns: list[Column],
    levels: list[Level],
) -> None:
    # Array elements are never "absent": only a nullable element may be missing.
    columns.append(Column(element, element, items, items.nullable))
    if items.type == "object" and items.fields is not None:
        child_policy = items.unknown_fields or policy
        _object_layout(
            items.fields, child_policy, element + ".", element, items.nullable, columns, levels
        )
    elif items.type == "array" and items.items is not None:
        _element_layout(items.items, element + "[]", policy, columns, levels)


class Missing:
    """A marker for a value that is not there (never a JSON value)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ABSENT = Missing("<absent>")
UNDER_MISSING = Missing("<parent missing>")


@dataclass
class Table:
    """Row-major cells of one table; `rows[i]` is the record index of row i."""

    name: str
    rows: list[int] = field(default_factory=list)
    cells: list[dict[str, Any]] = field(default_factory=list)
    undeclared: dict[str, int] = field(default_factory=dict)  # path -> rows carrying it

    def column(self, path: str) -> list[Any]:
        """Values with every kind of missing (absent, null, under a missing parent) as None."""
        return [None if isinstance(v := c.get(path), Missing) else v for c in self.cells]

    def raw_column(self, path: str) -> list[Any]:
        """Values as found: None for null, ABSENT for a key its (present) object lacks,
        UNDER_MISSING where the enclosing object itself is missing or not an object."""
        return [c.get(path, UNDER_MISSING) for c in self.cells]

    def __len__(self) -> int:
        return len(self.rows)


def flatten(records: Sequence[dict[str, Any]], spec: ContractSpec) -> dict[str, Table]:
    """One Table per layout table (always present, possibly empty)."""
    lay = layout(spec)
    tables = {name: Table(name) for name in lay.tables}
    for index, record in enumerate(records):
        cells: dict[str, Any] = {}
        _walk_object(record, spec.fields, "", ROOT, cells, tables, index)
        tables[ROOT].rows.append(index)
        tables[ROOT].cells.append(cells)
    return tables


def _walk_object(
    obj: object,
    fields: dict[str, FieldSpec],
    prefix: str,
    table: str,
    cells: dict[str, Any],
    tables: dict[str, Table],
    index: int,
) -> None:
    if not isinstance(obj, dict):
        return  # every column below stays UNDER_MISSING
    for name, fs in fields.items():
        path = prefix + name
        if name in obj:
            _walk_value(obj[name], fs, path, table, cells, tables, index)
        else:
            cells[path] = ABSENT
    for key in [k for k in obj if k not in fields]:
        path = prefix + key
        cells[path] = obj[key]
        counts = tables[table].undeclared
        counts[path] = counts.get(path, 0) + 1


def _walk_value(
    value: object,
    fs: FieldSpec,
    path: str,
    table: str,
    cells: dict[str, Any],
    tables: dict[str, Table],
    index: int,
) -> None:
    cells[path] = value
    if fs.type == "object" and fs.fields is not None:
        _walk_object(value, fs.fields, path + ".", table, cells, tables, index)
    elif fs.type == "array" and fs.items is not None and isinstance(value, list):
        element = path + "[]"
        for item in value:
            item_cells: dict[str, Any] = {}
            _walk_value(item, fs.items, element, element, item_cells, tables, index)
            tables[element].rows.append(index)
            tables[element].cells.append(item_cells)
