"""The drift engine's statistics, each on its own."""

from __future__ import annotations

import numpy as np

from guard.monitoring import statistics as st
from guard.monitoring.quantiles import ValueSummary


def test_holm_holds_the_smallest_p_value_to_alpha_over_the_family_size() -> None:
    levels = st.holm([0.004, 0.03, 0.2, 0.011], alpha=0.05)
    assert levels[0] == (0.0125, True)  # 0.05 / 4
    assert levels[3] == (0.05 / 3, True)  # 0.011 < 0.0167
    assert levels[1] == (0.025, False)  # 0.03 >= 0.05 / 2: stops here
    assert levels[2] == (0.05, False)  # everything after a failure fails


def test_a_rate_test_without_room_for_a_difference_is_not_a_test() -> None:
    assert st.two_rates(0, 1000, 0, 200) is None  # nothing missing on either side
    assert st.two_rates(1000, 1000, 200, 200) is None
    assert st.two_rates(20, 1000, 50, 1000) is not None


def test_a_one_sided_rate_test_never_fires_on_a_drop() -> None:
    assert st.two_rates(100, 1000, 10, 1000, greater=True) == 1.0


def _sketch(values: np.ndarray) -> ValueSummary:
    sk = ValueSummary()
    sk.update(values)
    return sk


def test_ks_from_sketches_finds_a_half_sd_shift_and_not_noise() -> None:
    rng = np.random.default_rng(1)
    base = _sketch(rng.normal(0, 1, 20_000))
    same = _sketch(rng.normal(0, 1, 2_000))
    moved = _sketch(rng.normal(0.5, 1, 2_000))
    assert st.ks(base, same)[1] > 0.05
    distance, p = st.ks(base, moved)
    assert 0.15 < distance < 0.25 and p < 1e-6


def test_the_same_values_batched_and_ordered_differently_do_not_differ() -> None:
    rng = np.random.default_rng(2)
    values = rng.normal(0, 1, 50_000)
    a = _sketch(values)
    b = ValueSummary()
    for chunk in np.array_split(values[::-1], 37):
        b.update(chunk)
    assert st.ks(a, b) == (0.0, 1.0) and st.wasserstein_sd(a, b) == 0.0


def test_wasserstein_is_in_baseline_standard_deviations() -> None:
    rng = np.random.default_rng(3)
    base = _sketch(rng.normal(100, 20, 20_000))
    cur = _sketch(rng.normal(105, 20, 20_000))  # shifted by 0.25 sd
    assert 0.2 < st.wasserstein_sd(base, cur) < 0.3
