"""One field's profile over a window: exact counters, value summaries and DataSketches sketches.

Missing and null counts and the JSON type mix are exact. The numeric distribution and
string/array lengths are deterministic value summaries (`quantiles.py`: log-spaced bins and
exact count, mean and variance), the distinct count an HLL sketch,
and, for enum-like fields, category frequencies a frequent-items sketch with a fixed maximum
map size. Each sketch has a fixed maximum size, so memory is bounded whatever the stream
length; each is created when the first value of its kind arrives. A batch is one column
(a list of values) and updates the sketches with array calls where the library has them.
"""

from __future__ import annotations

import base64
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import datasketches as ds  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt

from guard.config.settings import SketchSettings
from guard.monitoring.quantiles import ValueSummary

MAX_CATEGORY_CHARS = 256  # longer strings are not category values (and would cost memory)
# ...so they are counted together under this one label: without it, a categorical field
# whose values turn into long strings changed neither its category mix nor any other test
# (the long values were simply left out of the counts).
LONG_CATEGORY = f"(longer than {MAX_CATEGORY_CHARS} characters)"


class _Missing:
    __slots__ = ()


MISSING: Any = _Missing()
_TYPE_NAMES: dict[type, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    dict: "object",
    list: "array",
}
_FLOAT_MAX = sys.float_info.max


def count(value: Any) -> int:
    """A counter read from a profile: an integer from 0 to 2^63 - 1, else ValueError (a
    negative or huge count would fail later, in a test, as no usable profile)."""
    n = int(value)
    if not 0 <= n < 2**63:
        raise ValueError(f"not a count: {n}")
    return n


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _floats(values: list[Any]) -> npt.NDArray[np.float64]:
    try:
        return np.asarray(values, dtype=np.float64)
    except OverflowError:  # an integer beyond float range: clamp, it is an outlier either way
        return np.asarray(
            [max(-_FLOAT_MAX, min(_FLOAT_MAX, v)) if isinstance(v, int) else v for v in values],
            dtype=np.float64,
        )


class FieldProfile:
    """One field over one window. `merge` and `copy` never share sketch objects."""

    __slots__ = (
        "categories",
        "distinct",
        "lengths",
        "missing",
        "nulls",
        "numeric",
        "sketch",
        "types",
    )

    def __init__(self, sketch: SketchSettings) -> None:
        self.sketch = sketch
        self.missing = 0
        self.nulls = 0
        self.types: Counter[str] = Counter()
        self.numeric: ValueSummary | None = None
        self.lengths: ValueSummary | None = None
        self.distinct: ds.hll_sketch | None = None
        self.categories: ds.frequent_strings_sketch | None = None

    # -- sketches, created on first use -------------------------------------------------

    def _numeric(self) -> ValueSummary:
        if self.numeric is None:
            self.numeric = ValueSummary(self.sketch.value_accuracy)
        return self.numeric

    def _lengths(self) -> ValueSummary:
        if self.lengths is None:
            self.lengths = ValueSummary(self.sketch.value_accuracy)
        return self.lengths

    def _distinct(self) -> ds.hll_sketch:
        if self.distinct is None:
            self.distinct = ds.hll_sketch(self.sketch.hll_lg_k, ds.HLL_8)
        return self.distinct

    def _categories(self) -> ds.frequent_strings_sketch:
        if self.categories is None:
            self.categories = ds.frequent_strings_sketch(self.sketch.frequent_lg_max)
        return self.categories

    # -- batch update -------------------------------------------------------------------

    def update(self, column: list[Any], track_categories: bool) -> None:
        """Add one batch of values (MISSING where the record lacks the field)."""
        kinds = Counter(map(type, column))
        self.missing += kinds.pop(_Missing, 0)
        self.nulls += kinds.pop(type(None), 0)
        for t, n in kinds.items():
            self.types[_TYPE_NAMES.get(t, "other")] += n
        if int in kinds or float in kinds:
            numbers = [v for v in column if type(v) is int or type(v) is float]
            array = _floats(numbers)
            self._numeric().update(array)
            hll = self._distinct()
            for x in np.unique(array).tolist():
                hll.update(x)
            if track_categories and int in kinds:
                ints = Counter(str(v) for v in numbers if type(v) is int)
                self._count_categories(ints.items())
        if str in kinds:
            strings = [v for v in column if type(v) is str]
            self._lengths().update(np.fromiter(map(len, strings), np.float64, len(strings)))
            counts = Counter(strings)
            hll = self._distinct()
            for s in counts:
                hll.update(s)
            if track_categories:
                pairs = [(s, c) for s, c in counts.items() if len(s) <= MAX_CATEGORY_CHARS]
                long = len(strings) - sum(c for _s, c in pairs)
                self._count_categories([*pairs, (LONG_CATEGORY, long)] if long else pairs)
        if bool in kinds:
            trues = sum(1 for v in column if v is True)
            falses = kinds[bool] - trues
            hll = self._distinct()
            pairs = [(name, n) for name, n in (("true", trues), ("false", falses)) if n]
            for name, _ in pairs:
                hll.update(name)
            if track_categories:
                self._count_categories(pairs)
        if list in kinds:
            sizes = [len(v) for v in column if type(v) is list]
            self._lengths().update(np.asarray(sizes, dtype=np.float64))

    def _count_categories(self, counts: Iterable[tuple[str, int]]) -> None:
        sketch = self._categories()
        for value, n in counts:
            sketch.update(value, n)

    # -- merge, copy, serialise ---------------------------------------------------------

    def merge(self, other: FieldProfile) -> None:
        self.missing += other.missing
        self.nulls += other.nulls
        self.types.update(other.types)
        if other.numeric is not None:
            self._numeric().merge(other.numeric)
        if other.lengths is not None:
            self._lengths().merge(other.lengths)
        if other.distinct is not None:
            union = ds.hll_union(self.sketch.hll_lg_k)
            if self.distinct is not None:
                union.update(self.distinct)
            union.update(other.distinct)
            self.distinct = union.get_result(ds.HLL_8)
        if other.categories is not None:
            self._categories().merge(other.categories)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "missing": self.missing,
            "nulls": self.nulls,
            "types": dict(self.types),
        }
        if self.numeric is not None:
            out["numeric"] = self.numeric.to_json()
        if self.lengths is not None:
            out["lengths"] = self.lengths.to_json()
        if self.distinct is not None:
            out["distinct"] = b64(self.distinct.serialize_compact())
        if self.categories is not None:
            out["categories"] = b64(self.categories.serialize())
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any], sketch: SketchSettings) -> FieldProfile:
        fp = cls(sketch)
        fp.missing = count(data["missing"])
        fp.nulls = count(data["nulls"])
        fp.types = Counter({str(k): count(v) for k, v in data["types"].items()})
        if "numeric" in data:
            fp.numeric = ValueSummary.from_json(data["numeric"])
        if "lengths" in data:
            fp.lengths = ValueSummary.from_json(data["lengths"])
        try:  # the library's own errors for bytes it cannot read
            if "distinct" in data:
                fp.distinct = ds.hll_sketch.deserialize(unb64(data["distinct"]))
            if "categories" in data:
                fp.categories = ds.frequent_strings_sketch.deserialize(unb64(data["categories"]))
        except (RuntimeError, IndexError, OverflowError) as exc:
            raise ValueError(f"unreadable sketch: {exc}") from exc
        return fp

    # -- read-outs ----------------------------------------------------------------------

    def distinct_estimate(self) -> float:
        return float(self.distinct.get_estimate()) if self.distinct is not None else 0.0

    def category_counts(self) -> dict[str, int] | None:
        """Estimated count per category the sketch holds; None without categories."""
        if self.categories is None:
            return None
        rows = self.categories.get_frequent_items(ds.NO_FALSE_NEGATIVES)
        return {str(item): int(estimate) for item, estimate, _lo, _hi in rows}

    def categories_exact(self) -> bool:
        """Whether the category counts are exact (the sketch never had to purge)."""
        if self.categories is None:
            return False
        rows = self.categories.get_frequent_items(ds.NO_FALSE_NEGATIVES)
        return all(lo == hi for _item, _est, lo, hi in rows)

    def quantiles(self, ranks: Sequence[float]) -> list[float] | None:
        if self.numeric is None or self.numeric.is_empty():
            return None
        return [float(q) for q in self.numeric.get_quantiles(list(ranks))]
