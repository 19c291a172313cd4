"""Report data is strict JSON: non-finite numbers become null wherever they come from."""

from __future__ import annotations

import json
import math

import numpy as np

from guard.reports.jsonsafe import finite, json_safe


def test_non_finite_numbers_become_none_at_any_depth() -> None:
    data = {
        "a": math.nan,
        "b": [1.5, math.inf, {"c": -math.inf, "d": (np.float64("nan"), np.float32(2.5))}],
        "e": np.int64(3),
        "f": "nan",
        "g": True,
    }
    safe = json_safe(data)
    assert safe == {
        "a": None,
        "b": [1.5, None, {"c": None, "d": [None, 2.5]}],
        "e": 3,
        "f": "nan",
        "g": True,
    }
    json.dumps(safe, allow_nan=False)


def test_finite_rounds_and_refuses_what_is_not_a_finite_number() -> None:
    assert finite(1.23456789) == 1.234568
    assert [finite(x) for x in (math.nan, math.inf, None, True, "x")] == [None] * 5


def test_gx_observed_quantiles_of_an_empty_column_are_null() -> None:
    from guard.reports.gx_run import _int, _observed

    nan = float("nan")
    observed = {"quantiles": [0.1, 0.5, 0.9], "values": [nan, np.float64("nan"), 2.0]}
    assert _observed(observed, False) == {"quantiles": [0.1, 0.5, 0.9], "values": [None, None, 2.0]}
    assert _observed(nan, False) is None
    assert _observed(np.float64("inf"), False) is None
    assert _int(nan) is None and _int(3.0) == 3
