"""pandas frames of flattened tables: raw values for pandera, typed values for GX."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from guard.reports.flatten import Table
from guard.reports.gx_suite import Compared, gx_value


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


def typed_frame(table: Table, compared: list[Compared]) -> pd.DataFrame:
    """One typed column per compared column: floats (NaN when missing) or strings/None."""
    data: dict[str, Any] = {}
    for c in compared:
        values = [gx_value(v, c) for v in table.column(c.column.path)]
        if c.kind == "numeric" or c.measure == "presence":
            data[c.column.path] = pd.Series(
                [np.nan if v is None else v for v in values], dtype="float64"
            )
        else:
            data[c.column.path] = pd.Series(values, dtype=object)
    frame = pd.DataFrame(data, columns=[c.column.path for c in compared])
    frame.index = pd.RangeIndex(len(table))
    return frame
