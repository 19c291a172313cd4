"""The value summary: exact moments, deterministic bins, distances close to exact."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import ks_2samp, wasserstein_distance

from guard.monitoring.quantiles import ValueSummary, ks_distance, wasserstein
from guard.monitoring.statistics import wasserstein_sd


def _summary(values: np.ndarray, chunks: int = 1) -> ValueSummary:
    out = ValueSummary()
    for part in np.array_split(values, chunks):
        out.update(part)
    return out


def test_count_mean_and_variance_are_exact_however_the_values_are_batched() -> None:
    values = np.random.default_rng(1).normal(200, 40, 10_000)
    one, many = _summary(values), _summary(values, 23)
    merged = _summary(values[:3000])
    merged.merge(_summary(values[3000:], 5))
    for s in (one, many, merged):
        assert s.n == 10_000
        assert s.mean == pytest.approx(float(values.mean()), rel=1e-12)
        assert s.variance == pytest.approx(float(values.var(ddof=1)), rel=1e-10)
        assert (s.min, s.max) == (float(values.min()), float(values.max()))
    assert one.keys.tolist() == many.keys.tolist() == merged.keys.tolist()
    assert one.counts.tolist() == many.counts.tolist() == merged.counts.tolist()


def test_a_summary_survives_json_unchanged() -> None:
    s = _summary(np.random.default_rng(2).lognormal(3, 0.5, 1000))
    back = ValueSummary.from_json(json.loads(json.dumps(s.to_json())))
    assert back.to_json() == s.to_json()


def test_small_integers_get_a_bin_each() -> None:
    s = _summary(np.array([1, 2, 2, 3, 3, 3, 36, 36], dtype=np.float64))
    assert s.get_quantiles([0.0, 0.2, 0.5, 1.0]) == pytest.approx([1, 2, 3, 36], rel=0.005)
    assert s.get_cdf([2.0, 3.0]) == [0.375, 0.75, 1.0]


def test_negative_values_and_zero_keep_their_order() -> None:
    s = _summary(np.array([-5.0, -1.0, 0.0, 1.0, 5.0]))
    assert s.get_quantiles([0.0, 0.25, 0.5, 0.75, 1.0]) == pytest.approx(
        [-5.0, -1.0, 0.0, 1.0, 5.0], rel=0.006
    )


def test_wasserstein_at_200k_is_within_2_percent_of_scipys_exact_value() -> None:
    rng = np.random.default_rng(3)
    base_values = rng.normal(200, 40, 200_000)
    cur_values = rng.normal(208, 40, 200_000)  # +0.2 sd
    base, cur = _summary(base_values, 100), _summary(cur_values, 100)
    exact = wasserstein_distance(base_values, cur_values)
    assert wasserstein(base, cur) == pytest.approx(exact, rel=0.02)
    in_sd = exact / float(np.std(base_values, ddof=1))  # as the engine reports it
    assert wasserstein_sd(base, cur) == pytest.approx(in_sd, rel=0.02)


def test_ks_of_the_bins_is_close_to_and_never_above_the_exact_ks() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(0, 1, 20_000), rng.normal(0.1, 1, 20_000)
    exact = float(ks_2samp(a, b).statistic)
    binned = ks_distance(_summary(a), _summary(b))
    assert exact - 0.01 < binned <= exact + 1e-12


def test_ks_of_small_integers_whose_extremes_differ_is_the_exact_ks() -> None:
    """Integers 0..19 against 2..21 (a bin each): each summary's extreme bin is placed at its
    exact min/max, the other's same bin at its midpoint, so the two CDFs were read at
    misaligned points: 0.175 instead of scipy's 0.125 (p 0.0011 instead of 0.043)."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 20, 300).astype(np.float64)
    b = rng.integers(2, 22, 200).astype(np.float64)
    exact = float(ks_2samp(a, b).statistic)
    assert ks_distance(_summary(a), _summary(b)) == pytest.approx(exact, abs=1e-12)
    assert ks_distance(_summary(b), _summary(a)) == pytest.approx(exact, abs=1e-12)


def test_ks_between_summaries_of_different_accuracy_compares_values() -> None:
    """A baseline built with another `value_accuracy`: bin indexes mean other values, so
    the distance falls back to comparing by value (same data: about zero)."""
    values = np.random.default_rng(5).normal(200, 40, 5000)
    fine, coarse = ValueSummary(0.005), ValueSummary(0.02)
    fine.update(values)
    coarse.update(values)
    assert ks_distance(fine, coarse) < 0.05
