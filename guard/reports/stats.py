"""Per-field drift statistics between a baseline table and a current one (scipy).

A field drifts when a change is both statistically significant (p < `p_value`) and material
(an effect size over its threshold), so small samples do not drift on noise and large ones
do not drift on trivia:

- numbers (and string lengths, and array sizes): two-sample Kolmogorov-Smirnov test, and the
  Wasserstein distance divided by the baseline's standard deviation (`distance`);
- categories (enums, booleans, low-cardinality strings): chi-square test of homogeneity, and
  the Jensen-Shannon distance, base 2 (`distance`); values never seen in the baseline drift
  the field on their own when their share of current values exceeds `new_values`;
- missing share (absent or null) of every field: chi-square test on the 2x2 table, and the
  absolute change (`null_rate`).
Timestamps and dates are compared only on their missing share: time moves on by design.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from typing import Any, Literal

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

from guard.contracts.spec import FieldSpec
from guard.reports.flatten import Column, Table

Kind = Literal["numeric", "categorical", "text", "time", "presence"]
Measure = Literal["value", "length", "size", "presence"]
_FORMATTED_TEXT = {"email", "uuid", "uri"}


@dataclass(frozen=True)
class Thresholds:
    p_value: float = 0.05
    distance: float = 0.1
    null_rate: float = 0.05
    new_values: float = 0.01
    kl: float = 0.1
    max_categories: int = 20
    drift_share: float = 0.0

    def to_json(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Side:
    """One column on one side: row count, missing count and the usable values."""

    rows: int
    missing: int
    wrong_type: int
    values: list[Any]  # floats for numeric/text (lengths), labels for categorical

    @property
    def null_rate(self) -> float | None:
        return self.missing / self.rows if self.rows else None

    def summary(self, kind: Kind) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rows": self.rows,
            "missing": self.missing,
            "null_rate": _round(self.null_rate),
            "wrong_type": self.wrong_type,
        }
        if kind in {"numeric", "text"} and self.values:
            arr = np.asarray(self.values, dtype=float)
            out.update(
                mean=_round(float(arr.mean())),
                std=_round(float(arr.std())),
                min=_round(float(arr.min())),
                median=_round(float(np.median(arr))),
                max=_round(float(arr.max())),
            )
        elif kind == "categorical" and self.values:
            counts = Counter(self.values)
            out["shares"] = {k: _round(v / len(self.values)) for k, v in counts.most_common()}
        return out


@dataclass
class FieldDrift:
    field: str
    table: str
    type: str
    kind: Kind
    measure: Measure
    baseline: Side
    current: Side
    null_p_value: float | None = None
    test: str | None = None
    p_value: float | None = None
    distance_name: str | None = None
    distance: float | None = None
    new_values: list[str] = dc_field(default_factory=list)
    new_values_share: float | None = None
    missing_values: list[str] = dc_field(default_factory=list)
    reasons: list[str] = dc_field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return bool(self.reasons)

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "table": self.table or None,
            "type": self.type,
            "kind": self.kind,
            "measure": self.measure,
            "drifted": self.drifted,
            "reasons": list(self.reasons),
            "baseline": self.baseline.summary(self.kind),
            "current": self.current.summary(self.kind),
            "null_rate_p_value": _round(self.null_p_value),
            "test": self.test,
            "p_value": _round(self.p_value),
            "distance_name": self.distance_name,
            "distance": _round(self.distance),
            "new_values": self.new_values,
            "new_values_share": _round(self.new_values_share),
            "missing_values": self.missing_values,
        }


def classify(col: Column, baseline: Table, limits: Thresholds) -> tuple[Kind, Measure] | None:
    """How a column is compared; None for structural columns (array elements that are objects)."""
    fs = col.spec
    forced = _drift_setting(fs, "categorical")
    if forced is True and fs.type in {"string", "integer", "boolean"}:
        return "categorical", "value"
    if forced is False and fs.type in {"string", "boolean"}:
        return "text", "length"
    if fs.type == "object":
        return None if col.element else ("presence", "presence")
    if fs.type == "array":
        return "numeric", "size"
    if fs.type in {"integer", "number"} and fs.enum is None:
        return "numeric", "value"
    if fs.type == "boolean" or fs.enum is not None:
        return "categorical", "value"
    if fs.type in {"timestamp", "date"}:
        return "time", "value"
    if fs.format in _FORMATTED_TEXT:
        return "text", "length"
    distinct = {v for v in baseline.column(col.path) if isinstance(v, str)}
    if 0 < len(distinct) <= limits.max_categories:
        return "categorical", "value"
    return "text", "length"


def side(values: list[Any], col: Column, kind: Kind, measure: Measure) -> Side:
    missing = sum(1 for v in values if v is None)
    usable: list[Any] = []
    wrong = 0
    for v in values:
        if v is None:
            continue
        converted = convert(v, col.spec.type, kind, measure)
        if converted is None:
            wrong += 1
        else:
            usable.append(converted)
    return Side(len(values), missing, wrong, usable)


def compare(
    col: Column, kind: Kind, measure: Measure, base: Side, cur: Side, limits: Thresholds
) -> FieldDrift:
    d = FieldDrift(col.path, col.table, col.spec.type, kind, measure, base, cur)
    limits, off = field_limits(col, kind, limits)
    _missing_share(d, limits)
    if kind in {"numeric", "text"}:
        _continuous(d, limits)
    elif kind == "categorical":
        _categorical(d, limits)
    d.reasons[:] = [r for r in d.reasons if r not in off]
    return d


# The contract's per-field `drift:` keys this report understands (the others are the
# stream monitor's): a number replaces the threshold, false switches the check off.
_OVERRIDES: dict[str, tuple[str, str, set[Kind]]] = {
    "null_rate_abs": (
        "null_rate",
        "null_rate",
        {"numeric", "categorical", "text", "time", "presence"},
    ),
    "wasserstein": ("distance", "distribution", {"numeric"}),
    "js": ("distance", "distribution", {"categorical"}),
    "chi2_p": ("p_value", "distribution", {"categorical"}),
    "new_categories": ("", "new_values", {"categorical"}),
}


def field_limits(col: Column, kind: Kind, limits: Thresholds) -> tuple[Thresholds, set[str]]:
    """The thresholds for one field after its contract `drift:` settings, and checks turned off."""
    updates: dict[str, Any] = {}
    off: set[str] = set()
    for key, (threshold, reason, kinds) in _OVERRIDES.items():
        value = _drift_setting(col.spec, key)
        if value is None or kind not in kinds:
            continue
        if value is False:
            off.add(reason)
        elif threshold and not isinstance(value, bool):
            updates[threshold] = float(value)
    return (replace(limits, **updates) if updates else limits), off


def _drift_setting(fs: FieldSpec, key: str) -> Any:
    drift = getattr(fs, "drift", None)  # per-field drift settings, when the contract has them
    return getattr(drift, key, None) if drift is not None else None


def _missing_share(d: FieldDrift, limits: Thresholds) -> None:
    b, c = d.baseline, d.current
    if not b.rows or not c.rows:
        return
    table = np.array([[b.missing, b.rows - b.missing], [c.missing, c.rows - c.missing]])
    if (table.sum(axis=0) == 0).any():
        d.null_p_value = 1.0  # nothing missing anywhere, or everything missing everywhere
    else:
        d.null_p_value = float(stats.chi2_contingency(table).pvalue)
    change = (c.missing / c.rows) - (b.missing / b.rows)
    if c.missing == c.rows and b.missing < b.rows:
        d.reasons.append("missing_in_current")
    elif d.null_p_value < limits.p_value and abs(change) > limits.null_rate:
        d.reasons.append("null_rate")


def _continuous(d: FieldDrift, limits: Thresholds) -> None:
    b = np.asarray(d.baseline.values, dtype=float)
    c = np.asarray(d.current.values, dtype=float)
    if len(b) < 2 or len(c) < 2:
        return
    d.test = "ks"
    d.p_value = float(stats.ks_2samp(b, c).pvalue)
    scale = float(b.std())
    d.distance_name = "wasserstein_norm"
    raw = float(stats.wasserstein_distance(b, c))
    d.distance = raw / scale if scale > 0 else (0.0 if raw == 0 else math.inf)
    if d.p_value < limits.p_value and d.distance > limits.distance:
        d.reasons.append("distribution")


def _categorical(d: FieldDrift, limits: Thresholds) -> None:
    b_counts = Counter(d.baseline.values)
    c_counts = Counter(d.current.values)
    if not b_counts or not c_counts:
        return
    labels = sorted(b_counts.keys() | c_counts.keys())
    b_vec = np.array([b_counts[k] for k in labels], dtype=float)
    c_vec = np.array([c_counts[k] for k in labels], dtype=float)
    d.new_values = [k for k in labels if k not in b_counts]
    d.missing_values = [k for k in labels if k not in c_counts]
    d.new_values_share = sum(c_counts[k] for k in d.new_values) / c_vec.sum()
    d.distance_name = "jensen_shannon"
    d.distance = float(jensenshannon(b_vec / b_vec.sum(), c_vec / c_vec.sum(), base=2))
    if len(labels) > 1:
        d.test = "chi2"
        d.p_value = float(stats.chi2_contingency(np.vstack([b_vec, c_vec])).pvalue)
        if d.p_value < limits.p_value and d.distance > limits.distance:
            d.reasons.append("distribution")
    if d.new_values_share > limits.new_values:
        d.reasons.append("new_values")


def convert(v: Any, declared: str, kind: Kind, measure: Measure) -> Any:
    """The comparable form of one value, or None when it has the wrong type."""
    if measure == "presence":
        return 1.0 if isinstance(v, dict) else None
    if measure == "size":
        return float(len(v)) if isinstance(v, list) else None
    if measure == "length":
        return float(len(v)) if isinstance(v, str) else None
    if kind == "numeric":
        if isinstance(v, bool) or not isinstance(v, int | float):
            return None
        if declared == "integer" and not isinstance(v, int):
            return None
        try:
            return float(v)
        except OverflowError:
            return None
    if kind == "categorical":
        return label(v, declared)
    if kind == "time":
        return v if isinstance(v, str) else None
    return None


def label(v: Any, declared: str) -> str | None:
    """A category label: strings as they are, other JSON scalars as JSON text."""
    if declared in {"string", "timestamp", "date"}:
        return v if isinstance(v, str) else None
    if declared == "boolean":
        return json.dumps(v) if isinstance(v, bool) else None
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    if declared == "integer" and not isinstance(v, int):
        return None
    return json.dumps(v)


def _round(x: float | None) -> float | None:
    """JSON-safe: NaN and infinity (a constant baseline that moved) become null."""
    if x is None or not math.isfinite(x):
        return None
    return round(x, 6)
