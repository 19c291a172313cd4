"""Derive a Great Expectations suite from the contract and the baseline (pure: no GX import).

Each expectation is a plain `ExpectationSpec` (GX class name + kwargs), so the derivation
is testable without loading GX; `gx_run` turns them into GX objects. Two sources:

- `contract`: what the contract file says (not null, value set, range, pattern, lengths,
  array sizes): broken by current data only if records break the contract;
- `baseline`: what the baseline looked like (share of non-null values, quantiles, KL
  divergence of the binned or categorical distribution). Their tolerances are the report's
  thresholds widened by three standard errors for the two sample sizes, so a sample as
  large as the baseline is held to the threshold and a small one is not failed on noise.

GX sees typed columns (see `gx_value`): a value of the wrong type counts as missing there;
pandera reports it, with its row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy import stats

from guard.reports.flatten import Column
from guard.reports.stats import Kind, Measure, Side, Thresholds, convert, field_limits, label

Source = Literal["contract", "baseline"]
QUANTILES = (0.1, 0.5, 0.9)
_QUANTILE_SE = 1.71  # standard error of the 10%/90% quantile, in sigma/sqrt(n), for a normal
_MIN_VALUES = 10  # fewer baseline values than this: no distribution expectations


@dataclass(frozen=True)
class ExpectationSpec:
    table: str
    column: str
    type: str  # the GX expectation class name
    kwargs: dict[str, Any] = field(hash=False)
    source: Source


@dataclass(frozen=True)
class Compared:
    """A column as the report compares it (what `gx_suite` needs to know of it)."""

    column: Column
    kind: Kind
    measure: Measure
    baseline: Side
    current: Side


@dataclass(frozen=True)
class GxResult:
    table: str
    column: str
    expectation: str  # snake_case GX type, e.g. expect_column_values_to_not_be_null
    source: str
    success: bool
    observed: Any  # JSON-safe; never record values unless show_values
    unexpected_count: int | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table or None,
            "column": self.column,
            "expectation": self.expectation,
            "source": self.source,
            "success": self.success,
            "observed": self.observed,
            "unexpected_count": self.unexpected_count,
            "error": self.error,
        }


@dataclass(frozen=True)
class GxOutcome:
    results: list[GxResult]
    data_docs: Path  # the site's index.html
    context_dir: Path


def gx_value(v: Any, c: Compared) -> Any:
    """The typed value GX sees for one cell (None when missing or of the wrong type)."""
    if v is None:
        return None
    if c.measure == "length":  # GX checks text itself (lengths, patterns), not its length
        return v if isinstance(v, str) else None
    return convert(v, c.column.spec.type, c.kind, c.measure)


def build_suite(compared: list[Compared], limits: Thresholds) -> list[ExpectationSpec]:
    out: list[ExpectationSpec] = []
    for c in compared:
        out.extend(_contract(c))
        out.extend(_baseline(c, limits))
    return out


def _contract(c: Compared) -> list[ExpectationSpec]:
    col, fs = c.column, c.column.spec
    out: list[ExpectationSpec] = []

    def add(kind: str, **kwargs: Any) -> None:
        out.append(ExpectationSpec(col.table, col.path, kind, kwargs, "contract"))

    if not col.nullable:
        add("ExpectColumnValuesToNotBeNull")
    if c.measure == "presence":
        return out
    if fs.enum is not None and c.kind == "categorical" and fs.type != "boolean":
        labels = [label(v, fs.type) for v in fs.enum]
        add("ExpectColumnValuesToBeInSet", value_set=[x for x in labels if x is not None])
    if c.measure == "value" and c.kind == "numeric":
        bounds = _bounds(fs.minimum, fs.exclusive_minimum, fs.maximum, fs.exclusive_maximum)
        if bounds:
            add("ExpectColumnValuesToBeBetween", **bounds)
    if c.measure == "size" and (fs.min_items is not None or fs.max_items is not None):
        add("ExpectColumnValuesToBeBetween", min_value=fs.min_items, max_value=fs.max_items)
    if fs.type == "string" and c.kind in {"text", "categorical"}:
        if fs.pattern is not None:
            add("ExpectColumnValuesToMatchRegex", regex=fs.pattern)
        if fs.min_length is not None or fs.max_length is not None:
            add(
                "ExpectColumnValueLengthsToBeBetween",
                min_value=fs.min_length,
                max_value=fs.max_length,
            )
    return out


def _bounds(
    lo: float | None, x_lo: float | None, hi: float | None, x_hi: float | None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if x_lo is not None and (lo is None or x_lo >= lo):
        out.update(min_value=x_lo, strict_min=True)
    elif lo is not None:
        out["min_value"] = lo
    if x_hi is not None and (hi is None or x_hi <= hi):
        out.update(max_value=x_hi, strict_max=True)
    elif hi is not None:
        out["max_value"] = hi
    return out


def _baseline(c: Compared, limits: Thresholds) -> list[ExpectationSpec]:
    col = c.column
    limits, off = field_limits(col, c.kind, limits)
    out: list[ExpectationSpec] = []
    n_b, n_c = c.baseline.rows, c.current.rows
    if not n_b or not n_c:
        return out

    def add(kind: str, **kwargs: Any) -> None:
        out.append(ExpectationSpec(col.table, col.path, kind, kwargs, "baseline"))

    spread = math.sqrt(1 / n_b + 1 / n_c)
    p = len(c.baseline.values) / n_b  # what GX counts as non-null: present and well-typed
    tol = max(limits.null_rate, 3 * math.sqrt(p * (1 - p)) * spread)
    if "null_rate" not in off:
        add(
            "ExpectColumnProportionOfNonNullValuesToBeBetween",
            min_value=round(max(0.0, p - tol), 6),
            max_value=round(min(1.0, p + tol), 6),
        )
    values = c.baseline.values
    if len(values) < _MIN_VALUES or "distribution" in off:
        return out
    n_eff = 1 / (1 / len(values) + 1 / max(len(c.current.values), 1))
    if c.kind == "numeric":
        arr = np.asarray(values, dtype=float)
        sigma = float(arr.std())
        if sigma == 0:
            return out
        # Three standard errors, and one step more for discrete values (counts, sizes), whose
        # quantiles jump from one value to the next.
        distinct = np.unique(arr)
        step = float(np.diff(distinct).min()) if len(distinct) > 1 else 0.0
        q_tol = max(limits.distance * sigma, 3 * _QUANTILE_SE * sigma * spread) + step
        qs = np.quantile(arr, QUANTILES)
        add(
            "ExpectColumnQuantileValuesToBeBetween",
            quantile_ranges={
                "quantiles": list(QUANTILES),
                "value_ranges": [[_r(q - q_tol), _r(q + q_tol)] for q in qs],
            },
        )
        partition = _numeric_partition(arr)
        if partition is not None:
            bins, weights, holdout = partition
            add(
                "ExpectColumnKLDivergenceToBeLessThan",
                partition_object={"bins": bins, "weights": weights},
                threshold=_kl_threshold(len(weights), n_eff, limits),
                internal_weight_holdout=holdout,
            )
    elif c.kind == "categorical":
        counts: dict[str, int] = {}
        for v in values:
            counts[v] = counts.get(v, 0) + 1
        labels = sorted(counts)
        total = sum(counts.values())
        add(
            "ExpectColumnKLDivergenceToBeLessThan",
            partition_object={"values": labels, "weights": [counts[k] / total for k in labels]},
            threshold=_kl_threshold(len(labels), n_eff, limits),
            tail_weight_holdout=limits.new_values,
        )
    return out


def _numeric_partition(arr: np.ndarray) -> tuple[list[float], list[float], float] | None:
    """Decile bins of the baseline, open at both ends; weights are the baseline's shares."""
    inner = np.unique(np.quantile(arr, np.linspace(0.1, 0.9, 9), method="inverted_cdf"))
    if len(inner) < 2:
        return None
    edges = [-math.inf, *(float(x) for x in inner), math.inf]
    idx = np.searchsorted(np.asarray(edges[1:-1]), arr, side="right")
    counts = np.bincount(idx, minlength=len(edges) - 1)
    weights = [float(x) for x in counts / counts.sum()]
    holdout = 0.005 if min(weights) == 0 else 0.0
    return edges, weights, holdout


def _kl_threshold(categories: int, n_eff: float, limits: Thresholds) -> float:
    """At least `kl`; more when sampling alone could reach it (2n*KL ~ chi-square, k-1 df)."""
    noise = float(stats.chi2.ppf(0.999, max(categories - 1, 1))) / (2 * n_eff)
    return round(max(limits.kl, noise), 6)


def _r(x: float) -> float:
    return round(float(x), 6)
