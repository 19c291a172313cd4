"""JSON-safe report data: NaN and infinity (GX quantiles of an empty column, a distance over a
constant baseline) become null, numpy scalars plain Python values."""

from __future__ import annotations

import math
from typing import Any


def finite(x: Any) -> float | None:
    """A finite float, rounded to 6 places, or None (NaN, infinity, not a number at all)."""
    if x is None or isinstance(x, bool):
        return None
    try:
        value = float(x)
    except (TypeError, ValueError, OverflowError):
        return None
    return round(value, 6) if math.isfinite(value) else None


def json_safe(obj: Any) -> Any:
    """`obj` with every non-finite float replaced by None, recursively (dicts, lists, tuples)."""
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    tolist = getattr(obj, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return json_safe(tolist())
    return obj
