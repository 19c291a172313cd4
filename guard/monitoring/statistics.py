"""The statistics of the drift engine, computed from profiles (exact counters and sketches).

Each function returns a measured p-value (None when the data cannot give one) and, where
the engine needs it, an effect size. Nothing here knows thresholds: `drift.py` decides.

- Rates (missing, null, quarantined, a new field): two-sample test on the 2x2 table,
  Fisher's exact test when an expected cell is small, else chi-square with Yates' correction.
  A table whose margins leave no room for a difference (nothing missing on either side)
  cannot reject at any level and is not a test (Tarone's rule), so it does not dilute the
  family-wise correction.
- Distributions (numbers, string lengths, array sizes): the two-sample Kolmogorov-Smirnov
  distance of the two value summaries (`quantiles.py`), read at every bin edge, where their
  CDFs are exact (binning can only hide drift, never invent it), and its p-value from the
  Kolmogorov distribution with the effective sample size, as scipy's asymptotic ks_2samp
  does. The Wasserstein-1 distance between the binned distributions, in the baseline's
  exact standard deviations, and PSI over the baseline's deciles.
- Categories: chi-square test of homogeneity and the Jensen-Shannon distance (base 2);
  new categories by Fisher's exact test (one-sided) on new vs known values.
- Family: Holm's step-down correction, which controls the family-wise error rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, entropy, fisher_exact, gamma, kstwo

from guard.monitoring.quantiles import ValueSummary, ks_distance, wasserstein

GRID = np.linspace(0.005, 0.995, 100).tolist()  # quantile grid standing in for each sample
DECILES = [i / 10 for i in range(1, 10)]
PSI_FLOOR = 1e-4  # an empty bin counts as this share, so PSI stays finite
_SMALL_CELL = 5.0  # below this expected count, Fisher's exact test instead of chi-square


def two_rates(k_b: int, n_b: int, k_c: int, n_c: int, greater: bool = False) -> float | None:
    """p-value that k_c/n_c differs from k_b/n_b (or exceeds it, `greater`); None: no test."""
    if n_b <= 0 or n_c <= 0:
        return None
    hits, total = k_b + k_c, n_b + n_c
    if hits == 0 or hits == total:
        return None  # no possible difference: not a test (see module docstring)
    if greater and k_c * n_b <= k_b * n_c:
        return 1.0
    table = np.array([[k_c, n_c - k_c], [k_b, n_b - k_b]], dtype=np.int64)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    if expected.min() < _SMALL_CELL:
        side: Literal["greater", "two-sided"] = "greater" if greater else "two-sided"
        return float(fisher_exact(table, alternative=side).pvalue)
    p = float(chi2_contingency(table, correction=True).pvalue)
    return p / 2 if greater else p  # one-sided: the difference is in the tested direction


def rate_change(gaps: float, seconds: float, rate: float) -> float:
    """Two-sided p-value that `gaps` gaps between records spanning `seconds` come from a
    Poisson process at `rate` per second: the span of g exponential gaps is Gamma(g)."""
    if gaps < 1 or rate <= 0:
        return 1.0
    x = rate * seconds
    return min(1.0, 2 * min(float(gamma.cdf(x, gaps)), float(gamma.sf(x, gaps))))


def homogeneity(base: Sequence[float], cur: Sequence[float]) -> float | None:
    """Chi-square p-value that two count vectors come from one distribution; None: no test."""
    table = np.asarray([base, cur], dtype=np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return None
    return float(chi2_contingency(table).pvalue)


def js_distance(base: Sequence[float], cur: Sequence[float]) -> float:
    return float(jensenshannon(np.asarray(base, float), np.asarray(cur, float), base=2))


def ks(base: ValueSummary, cur: ValueSummary) -> tuple[float, float]:
    """(KS distance, p-value) of two value summaries; see the module docstring."""
    distance = ks_distance(base, cur)
    n_b, n_c = base.n, cur.n
    n_eff = round(n_b * n_c / (n_b + n_c)) if n_b + n_c else 0
    p = 1.0 if distance <= 0 or n_eff < 1 else float(kstwo.sf(distance, max(n_eff, 1)))
    return distance, min(max(p, 0.0), 1.0)


def grid(summary: ValueSummary) -> np.ndarray:
    return np.asarray(summary.get_quantiles(GRID), dtype=np.float64)


def wasserstein_sd(base: ValueSummary, cur: ValueSummary) -> float:
    """Wasserstein-1 distance between the two distributions, in baseline standard
    deviations (the baseline's exact sd; without spread, relative to its mean)."""
    raw = wasserstein(base, cur)
    spread = base.std
    if spread > 0:
        return raw / spread
    return 0.0 if raw == 0 else raw / max(abs(base.mean), 1.0)


def psi(base: ValueSummary, cur: ValueSummary) -> tuple[float, int]:
    """Population stability index over the baseline's deciles, and the number of bins."""
    splits = sorted(set(base.get_quantiles(DECILES)))
    p_b = np.maximum(np.asarray(base.get_pmf(splits)), PSI_FLOOR)
    p_c = np.maximum(np.asarray(cur.get_pmf(splits)), PSI_FLOOR)
    p_b, p_c = p_b / p_b.sum(), p_c / p_c.sum()
    return float(entropy(p_c, p_b) + entropy(p_b, p_c)), len(p_b)  # PSI = symmetric KL


def holm(p_values: Sequence[float], alpha: float) -> list[tuple[float, bool]]:
    """Holm's step-down correction: per test, (its level, whether it passed).

    The i-th smallest p-value is held to alpha / (m - i); once one fails its level, every
    larger p-value fails too. Controls the family-wise error rate at alpha."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    out: list[tuple[float, bool]] = [(0.0, False)] * m
    passing = True
    for rank, i in enumerate(order):
        level = alpha / (m - rank)
        passing = passing and p_values[i] < level
        out[i] = (level, passing)
    return out
