"""Per-field drift statistics."""

from __future__ import annotations

import random
from typing import Any

from guard.contracts.spec import ContractSpec
from guard.reports.flatten import Column, flatten, layout
from guard.reports.stats import FieldDrift, Thresholds, classify, compare, side

LIMITS = Thresholds()


def spec(fields: dict[str, Any]) -> ContractSpec:
    return ContractSpec.model_validate(
        {"subject": "s", "version": 1, "unknown_fields": "allow", "fields": fields}
    )


def drift_of(
    s: ContractSpec,
    path: str,
    base: list[dict[str, Any]],
    cur: list[dict[str, Any]],
    limits: Thresholds = LIMITS,
) -> FieldDrift:
    col: Column = next(c for c in layout(s).columns if c.path == path)
    b_tab, c_tab = flatten(base, s)[col.table], flatten(cur, s)[col.table]
    how = classify(col, b_tab, limits)
    assert how is not None
    kind, measure = how
    b = side(b_tab.column(path), col, kind, measure)
    c = side(c_tab.column(path), col, kind, measure)
    return compare(col, kind, measure, b, c, limits)


NUM = spec({"x": {"type": "number"}})


def normal(seed: int, n: int, mu: float = 0.0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"x": rng.gauss(mu, 1.0)} for _ in range(n)]


def test_same_distribution_does_not_drift() -> None:
    d = drift_of(NUM, "x", normal(1, 1000), normal(2, 500))
    assert (d.kind, d.test, d.drifted) == ("numeric", "ks", False)


def test_a_shifted_distribution_drifts_with_both_test_and_distance() -> None:
    d = drift_of(NUM, "x", normal(1, 1000), normal(2, 500, mu=0.5))
    assert d.reasons == ["distribution"]
    assert d.p_value is not None and d.p_value < 0.05
    assert d.distance is not None and 0.4 < d.distance < 0.6


def test_a_tiny_but_significant_shift_is_not_material() -> None:
    d = drift_of(NUM, "x", normal(1, 20000), normal(2, 20000, mu=0.05))
    assert d.p_value is not None and d.p_value < 0.05
    assert not d.drifted


def test_a_large_but_insignificant_difference_in_a_small_sample_does_not_drift() -> None:
    d = drift_of(NUM, "x", normal(1, 8), normal(2, 8, mu=0.3))
    assert d.distance is not None and d.distance > LIMITS.distance
    assert not d.drifted


CAT = spec({"c": {"type": "string", "enum": ["A", "B", "C"]}})


def cats(seed: int, n: int, weights: list[float], values: str = "ABC") -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"c": rng.choices(values, weights)[0]} for _ in range(n)]


def test_a_changed_category_mix_drifts() -> None:
    d = drift_of(CAT, "c", cats(1, 1000, [6, 3, 1]), cats(2, 500, [1, 3, 6]))
    assert (d.kind, d.test, d.reasons) == ("categorical", "chi2", ["distribution"])


def test_values_unseen_in_the_baseline_drift_above_their_share() -> None:
    d = drift_of(CAT, "c", cats(1, 1000, [1, 1, 0], "ABC"), cats(2, 500, [10, 10, 1], "ABC"))
    assert d.new_values == ["C"]
    assert "new_values" in d.reasons


def test_the_missing_share_drifts_when_significant_and_material() -> None:
    base = [{"x": 1.0}] * 900 + [{}] * 100
    cur = [{"x": 1.0}] * 300 + [{"x": None}] * 200
    d = drift_of(NUM, "x", base, cur)
    assert (d.baseline.null_rate, d.current.null_rate) == (0.1, 0.4)
    assert d.reasons == ["null_rate"]


def test_a_field_gone_from_the_current_data_is_missing_in_current() -> None:
    d = drift_of(NUM, "x", normal(1, 50), [{}] * 50)
    assert d.reasons == ["missing_in_current"]


def test_strings_with_many_values_are_compared_by_length_never_by_value() -> None:
    s = spec({"name": {"type": "string"}})
    base = [{"name": f"n{i}"} for i in range(100)]
    d = drift_of(s, "name", base, base)
    assert (d.kind, d.measure) == ("text", "length")
    assert all(isinstance(v, float) for v in d.baseline.values)


def test_few_distinct_strings_are_categories() -> None:
    s = spec({"country": {"type": "string"}})
    base = [{"country": c} for c in ["DE", "FR", "NL"]] * 10
    assert drift_of(s, "country", base, base).kind == "categorical"


def test_timestamps_are_compared_on_their_missing_share_only() -> None:
    s = spec({"at": {"type": "timestamp"}})
    base = [{"at": "2026-01-01T00:00:00Z"}] * 50
    cur = [{"at": "2026-11-21T00:00:00Z"}] * 50
    d = drift_of(s, "at", base, cur)
    assert (d.kind, d.test, d.drifted) == ("time", None, False)


def test_values_of_the_wrong_type_are_counted_not_compared() -> None:
    d = drift_of(NUM, "x", normal(1, 10), [{"x": "1.5"}, {"x": True}, {"x": 2.0}])
    assert (d.current.wrong_type, d.current.values) == (2, [2.0])


def test_a_contract_drift_setting_turns_a_check_off_for_one_field() -> None:
    s = spec({"x": {"type": "number", "drift": {"wasserstein": False}}})
    d = drift_of(s, "x", normal(1, 1000), normal(2, 500, mu=1.0))
    assert d.p_value is not None and d.p_value < 0.05
    assert not d.drifted


def test_the_json_form_has_no_infinities() -> None:
    base = [{"x": 1.0}] * 50
    d = drift_of(NUM, "x", base, [{"x": 2.0}] * 50)
    assert d.drifted
    assert d.to_json()["distance"] is None
