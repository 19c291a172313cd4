"""pandas frames: raw flattened values for pandera, typed columns for Great Expectations."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from guard.monitoring.field_profile import MISSING
from guard.reports.flatten import Table
from guard.reports.gx_suite import Column, label


def raw_frame(table: Table, columns: list[str]) -> pd.DataFrame:
    """Declared columns plus undeclared ones seen, values untouched (object dtype), with the
    flatten markers for absent keys (see `Table.raw_column`).

    The index is the record number of each row, so failure cases point at records.
    """
    names = list(dict.fromkeys([*columns, *table.undeclared]))
    data = {name: pd.Series(table.raw_column(name), dtype=object) for name in names}
    frame = pd.DataFrame(data, columns=names)
    frame.index = pd.Index(table.rows, dtype="int64")
    return frame


def typed_frame(records: list[dict[str, Any]], columns: list[Column]) -> pd.DataFrame:
    """One typed column per field: floats (NaN when missing or of another type) for numbers,
    array sizes and object presence; text (None when missing) for the rest."""
    data: dict[str, Any] = {}
    for c in columns:
        parts = c.path.split(".")
        values = [typed_value(_dig(r, parts), c) for r in records]
        if _numeric(c):
            data[c.path] = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
        else:
            data[c.path] = pd.Series(values, dtype=object)
    frame = pd.DataFrame(data, columns=[c.path for c in columns])
    frame.index = pd.RangeIndex(len(records))
    return frame


def _numeric(c: Column) -> bool:
    if c.compared_by == "categories":
        return False
    return c.spec.type in {"integer", "number", "array", "object"}


def typed_value(v: Any, c: Column) -> Any:
    """The value GX sees for one cell (None when missing or of the wrong type)."""
    if v is None or v is MISSING:
        return None
    t = c.spec.type
    if c.compared_by == "categories":
        return label(v) if isinstance(v, str | bool | int) and not isinstance(v, float) else None
    if t in {"integer", "number"}:
        if isinstance(v, bool) or not isinstance(v, int | float):
            return None
        try:
            return float(v)
        except OverflowError:
            return None
    if t == "array":
        return float(len(v)) if isinstance(v, list) else None
    if t == "object":
        return 1.0 if isinstance(v, dict) else None
    if t == "boolean":
        return label(v) if isinstance(v, bool) else None
    return v if isinstance(v, str) else None


def _dig(record: dict[str, Any], parts: list[str]) -> Any:
    value: Any = record
    for name in parts:
        if not isinstance(value, dict):
            return MISSING
        value = value.get(name, MISSING)
        if value is MISSING:
            return MISSING
    return value
