"""A deterministic, mergeable value summary: log-spaced histogram plus exact moments.

It stands in for DataSketches KLL for field values and string/array lengths. KLL's
compactions flip coins seeded from the clock, so the same input gave different distances
from run to run (0.178-0.240 sd for one pair of files, issue 19). Here every value goes
into a bin of relative width `accuracy` (DDSketch's log-spaced bins: a value x > 0 in bin
k = ceil(log(x) / log(gamma)), gamma = (1 + a) / (1 - a); negative values mirrored; zero in
a bin of its own), and a bin is a count. So the summary of a multiset does not depend on
the order the values came in, how they were batched or merged: the same records give the
same numbers, run after run and in the stream and CI paths alike.

- Quantiles are within `accuracy` of a true value (relative), the CDF is exact at bin
  edges, so a KS distance read at bin edges is the exact KS distance of the binned data,
  never more than the true one: binning can hide a little drift but not invent it.
- Count, mean, variance (Welford's update, Chan's merge), min and max are exact (up to
  floating-point rounding in the last bits).
- Small integers (lengths, counts) land one per bin, so they are exact; memory is the
  number of occupied bins (about 180 for a normal field at 0.5%), at most `MAX_BINS`: the
  lowest bins are folded together beyond that (only for values spanning 1e17 and more).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

MAX_BINS = 4096
_BIAS = 1 << 17  # keeps every positive float's bin index above zero
_TINY = 2.2250738585072014e-308  # smallest normal float: below it a value counts as zero


class ValueSummary:
    """Log-binned counts and exact moments of a stream of floats."""

    __slots__ = ("_log_gamma", "accuracy", "counts", "keys", "m2", "max", "mean", "min", "n")

    def __init__(self, accuracy: float = 0.005) -> None:
        self.accuracy = accuracy
        self._log_gamma = math.log((1 + accuracy) / (1 - accuracy))
        self.keys: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)  # sorted bin indexes
        self.counts: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0  # sum of squared deviations from the mean
        self.min = math.inf
        self.max = -math.inf

    # -- bins ---------------------------------------------------------------------------

    def _index(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        a = np.abs(x)
        with np.errstate(divide="ignore"):
            k = np.ceil(np.log(np.maximum(a, _TINY)) / self._log_gamma).astype(np.int64) + _BIAS
        return np.where(a < _TINY, 0, np.sign(x).astype(np.int64) * k)

    def _value(self, idx: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Each bin's representative value: the midpoint (relative) of its range."""
        k = np.abs(idx) - _BIAS
        gamma = math.exp(self._log_gamma)
        mid = 2.0 * np.exp(k * self._log_gamma) / (1.0 + gamma)
        return np.where(idx == 0, 0.0, np.sign(idx) * mid)

    def _add_bins(self, keys: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]) -> None:
        all_keys = np.concatenate([self.keys, keys])
        all_counts = np.concatenate([self.counts, counts])
        uniq, inverse = np.unique(all_keys, return_inverse=True)
        summed = np.zeros(len(uniq), dtype=np.int64)
        np.add.at(summed, inverse, all_counts)
        if len(uniq) > MAX_BINS:  # fold the lowest bins into the lowest one kept
            cut = len(uniq) - MAX_BINS
            summed[cut] += summed[:cut].sum()
            uniq, summed = uniq[cut:], summed[cut:]
        self.keys, self.counts = uniq, summed

    # -- update and merge ---------------------------------------------------------------

    def update(self, values: npt.ArrayLike) -> None:
        x = np.asarray(values, dtype=np.float64).ravel()
        x = x[np.isfinite(x)]
        if not len(x):
            return
        keys, counts = np.unique(self._index(x), return_counts=True)
        self._add_bins(keys, counts.astype(np.int64))
        m = len(x)
        mean = float(np.mean(x))
        with np.errstate(over="ignore"):  # an outlier near the float limit: variance inf
            m2 = float(np.sum((x - mean) ** 2))
        self._merge_moments(m, mean, m2, float(x.min()), float(x.max()))

    def _merge_moments(self, n: int, mean: float, m2: float, lo: float, hi: float) -> None:
        if n == 0:
            return
        total = self.n + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.n * n / total
        self.n = total
        self.min, self.max = min(self.min, lo), max(self.max, hi)

    def merge(self, other: ValueSummary) -> None:
        if other.accuracy != self.accuracy:
            # Instances (or a baseline) profiled with another `value_accuracy`: its bins go
            # into this summary's bins by their representative values (moments stay exact).
            if other.n:
                self._add_bins(self._index(other.values()[0]), other.counts)
        else:
            self._add_bins(other.keys, other.counts)
        self._merge_moments(other.n, other.mean, other.m2, other.min, other.max)

    def copy(self) -> ValueSummary:
        out = ValueSummary(self.accuracy)
        out.merge(self)
        return out

    # -- read-outs (the KLL calls the engine used) --------------------------------------

    def is_empty(self) -> bool:
        return self.n == 0

    def is_estimation_mode(self) -> bool:
        return False  # the CDF is exact at bin edges (see the module docstring)

    @property
    def variance(self) -> float:
        return self.m2 / (self.n - 1) if self.n > 1 else 0.0

    @property
    def std(self) -> float:
        return math.sqrt(max(self.variance, 0.0))

    def get_min_value(self) -> float:
        return self.min

    def get_max_value(self) -> float:
        return self.max

    def values(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(representative values, weights as shares), ascending; min and max exact."""
        if not self.n:
            return np.zeros(0), np.zeros(0)
        v = np.clip(self._value(self.keys), self.min, self.max)
        v[0], v[-1] = self.min, self.max  # the extreme bins' values are known exactly
        return v, self.counts / self.counts.sum()

    def get_quantiles(self, ranks: Sequence[float]) -> list[float]:
        v, w = self.values()
        if not len(v):
            return [math.nan] * len(ranks)
        cum = np.cumsum(w)
        at = np.searchsorted(cum, np.asarray(ranks, dtype=np.float64) - 1e-12, side="left")
        return [float(x) for x in v[np.minimum(at, len(v) - 1)]]

    def get_quantile(self, rank: float) -> float:
        return self.get_quantiles([rank])[0]

    def get_cdf(self, points: Sequence[float]) -> list[float]:
        """Share of values in the bins up to each point's own, then 1.0, as KLL returns
        it (exact for values one per bin, such as small integers)."""
        if not self.n:
            return [math.nan] * (len(points) + 1)
        cum = np.concatenate([[0.0], np.cumsum(self.counts / self.counts.sum())])
        idx = self._index(np.asarray(points, dtype=np.float64))
        return [float(c) for c in cum[np.searchsorted(self.keys, idx, side="right")]] + [1.0]

    def get_pmf(self, splits: Sequence[float]) -> list[float]:
        cdf = np.asarray(self.get_cdf(splits))
        return [float(x) for x in np.diff(np.concatenate([[0.0], cdf]))]

    def winsorized(self, tail: float) -> tuple[float, float, float, float]:
        """(mean, sd, lo, hi) of the values clipped to their `tail` and 1 - `tail`
        quantiles [lo, hi], from the bins (each bin at its representative value)."""
        v, w = self.values()
        lo, hi = self.get_quantiles([tail, 1 - tail])
        clipped = np.clip(v, lo, hi)
        mean = float(np.sum(w * clipped))
        var = float(np.sum(w * (clipped - mean) ** 2)) * self.n / max(self.n - 1, 1)
        return mean, math.sqrt(max(var, 0.0)), lo, hi

    # -- serialise ----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "n": self.n,
            "mean": self.mean,
            "m2": self.m2,
            "min": self.min if self.n else None,
            "max": self.max if self.n else None,
            "keys": self.keys.tolist(),
            "counts": self.counts.tolist(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ValueSummary:
        accuracy = float(data["accuracy"])
        if not 0 < accuracy < 1:
            raise ValueError(f"malformed value summary: accuracy {accuracy}")
        out = cls(accuracy)
        out.n = int(data["n"])
        out.mean, out.m2 = float(data["mean"]), float(data["m2"])
        if out.n:
            out.min, out.max = float(data["min"]), float(data["max"])
        try:
            out.keys = np.asarray(data["keys"], dtype=np.int64)
            out.counts = np.asarray(data["counts"], dtype=np.int64)
        except OverflowError as exc:
            raise ValueError(f"malformed value summary: {exc}") from exc
        if (
            out.keys.ndim != 1
            or out.keys.shape != out.counts.shape
            or (out.counts < 0).any()
            or (np.diff(out.keys) <= 0).any()  # sorted, each bin once
            or int(out.counts.sum()) != out.n
        ):
            raise ValueError("malformed value summary")
        return out


def wasserstein(base: ValueSummary, cur: ValueSummary) -> float:
    """Wasserstein-1 distance between the two binned distributions (raw units)."""
    v_b, w_b = base.values()
    v_c, w_c = cur.values()
    if not len(v_b) or not len(v_c):
        return math.nan
    points = np.union1d(v_b, v_c)
    cdf_b = np.concatenate([[0.0], np.cumsum(w_b)])[np.searchsorted(v_b, points, side="right")]
    cdf_c = np.concatenate([[0.0], np.cumsum(w_c)])[np.searchsorted(v_c, points, side="right")]
    return float(np.sum(np.abs(cdf_b - cdf_c)[:-1] * np.diff(points)))


def ks_distance(base: ValueSummary, cur: ValueSummary) -> float:
    """Largest gap between the two CDFs, read at every bin either has.

    Read by bin index, not by each summary's representative values: those put a summary's
    extreme bins at its exact min and max, so where the two samples' extremes differ, the
    same bin sat at two points and the CDFs were compared one bin apart (more than the
    true distance: integers 0..19 against 2..21 gave 0.175 for an exact 0.125)."""
    if not base.n or not cur.n:
        return 0.0
    if base.accuracy != cur.accuracy:  # bins of different widths: compare by value instead
        v_b, w_b = base.values()
        v_c, w_c = cur.values()
        points = np.union1d(v_b, v_c)
        cdf_b = np.concatenate([[0.0], np.cumsum(w_b)])[np.searchsorted(v_b, points, "right")]
        cdf_c = np.concatenate([[0.0], np.cumsum(w_c)])[np.searchsorted(v_c, points, "right")]
        return float(np.max(np.abs(cdf_b - cdf_c)))
    keys = np.union1d(base.keys, cur.keys)
    cdf_b = np.concatenate([[0.0], np.cumsum(base.counts / base.counts.sum())])
    cdf_c = np.concatenate([[0.0], np.cumsum(cur.counts / cur.counts.sum())])
    at_b = cdf_b[np.searchsorted(base.keys, keys, side="right")]
    at_c = cdf_c[np.searchsorted(cur.keys, keys, side="right")]
    return float(np.max(np.abs(at_b - at_c)))
