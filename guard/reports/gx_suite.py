"""A Great Expectations suite generated from the contract and the drift engine's own rules
(pure: no GX import), run as corroboration beside the engine's verdict, never as a trigger.

Each expectation is a plain `ExpectationSpec` (GX class name + kwargs), so the derivation is
testable without loading GX; `gx_run` turns them into GX objects. Two sources:

- `contract`: what the contract file says (not null, value set, range, pattern, lengths,
  array sizes): unmet only where records break the contract;
- `engine`: the engine's materiality thresholds around the baseline profile: the present
  (non-null) share within the null-rate threshold, the 10/50/90% quantiles within the
  Wasserstein threshold (in baseline standard deviations), category values within the
  baseline's categories. They carry no significance test of their own: the engine's verdict
  decides, GX shows whether the same rule reads the same way on the sample.

GX sees one typed column per declared (non-array-element) field; see `frames.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from guard.contracts.spec import FieldSpec
from guard.monitoring.field_profile import LONG_CATEGORY, FieldProfile
from guard.monitoring.thresholds import FieldThresholds

Source = Literal["contract", "engine"]
QUANTILES = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class ExpectationSpec:
    column: str
    type: str  # the GX expectation class name
    kwargs: dict[str, Any] = field(hash=False)
    source: Source


@dataclass(frozen=True)
class GxResult:
    column: str
    expectation: str  # snake_case GX type, e.g. expect_column_values_to_not_be_null
    source: str
    success: bool
    observed: Any  # JSON-safe; never record values unless show_values
    unexpected_count: int | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {
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


@dataclass(frozen=True)
class Column:
    """A field as GX sees it: its path, contract rule, how the engine compared it."""

    path: str
    spec: FieldSpec
    required: bool  # a valid record always has a non-null value here
    compared_by: str  # the engine's FieldVerdict.compared_by
    thresholds: FieldThresholds
    baseline: FieldProfile
    baseline_records: int


def build_suite(columns: list[Column]) -> list[ExpectationSpec]:
    out: list[ExpectationSpec] = []
    for c in columns:
        out.extend(contract_expectations(c))
        out.extend(engine_expectations(c))
    return out


def contract_expectations(c: Column) -> list[ExpectationSpec]:
    fs = c.spec
    out: list[ExpectationSpec] = []

    def add(kind: str, **kwargs: Any) -> None:
        out.append(ExpectationSpec(c.path, kind, kwargs, "contract"))

    if c.required:
        add("ExpectColumnValuesToNotBeNull")
    if fs.type == "object":
        return out
    if fs.enum is not None and fs.type != "boolean":
        add("ExpectColumnValuesToBeInSet", value_set=sorted({label(v) for v in fs.enum}))
    if fs.type in {"integer", "number"} and fs.enum is None:
        bounds = _bounds(fs.minimum, fs.exclusive_minimum, fs.maximum, fs.exclusive_maximum)
        if bounds:
            add("ExpectColumnValuesToBeBetween", **bounds)
    if fs.type == "array" and (fs.min_items is not None or fs.max_items is not None):
        add("ExpectColumnValuesToBeBetween", min_value=fs.min_items, max_value=fs.max_items)
    if fs.type == "string":
        if fs.pattern is not None:
            add("ExpectColumnValuesToMatchRegex", regex=fs.pattern)
        if fs.min_length is not None or fs.max_length is not None:
            add(
                "ExpectColumnValueLengthsToBeBetween",
                min_value=fs.min_length,
                max_value=fs.max_length,
            )
    return out


def engine_expectations(c: Column) -> list[ExpectationSpec]:
    t, fp, n = c.thresholds, c.baseline, c.baseline_records
    out: list[ExpectationSpec] = []
    if n == 0:
        return out

    def add(kind: str, **kwargs: Any) -> None:
        out.append(ExpectationSpec(c.path, kind, kwargs, "engine"))

    tol = max(t.null_rate_abs or 0.0, t.missing_rate_abs or 0.0)
    if tol:
        share = (n - fp.missing - fp.nulls) / n
        add(
            "ExpectColumnProportionOfNonNullValuesToBeBetween",
            min_value=round(max(0.0, share - tol), 6),
            max_value=round(min(1.0, share + tol), 6),
        )
    if c.compared_by == "value" and t.wasserstein is not None and fp.numeric is not None:
        spread = fp.numeric.std
        if spread > 0:
            qs = fp.numeric.get_quantiles(list(QUANTILES))
            width = t.wasserstein * spread
            add(
                "ExpectColumnQuantileValuesToBeBetween",
                quantile_ranges={
                    "quantiles": list(QUANTILES),
                    "value_ranges": [[_r(q - width), _r(q + width)] for q in qs],
                },
            )
    if c.compared_by == "categories" and t.new_categories:
        counts = fp.category_counts() or {}
        counts.pop(LONG_CATEGORY, None)  # long strings' common count, not a value
        if counts:
            add("ExpectColumnValuesToBeInSet", value_set=sorted(counts))
    return out


def label(v: object) -> str:
    """A category label as the profiles count it: strings as they are, booleans as
    true/false, numbers as their decimal text."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return v if isinstance(v, str) else str(v)


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


def _r(x: float) -> float:
    return round(float(x), 6)
