"""The Great Expectations suite derived from the contract and the baseline (no GX needed)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from guard.contracts.spec import ContractSpec
from guard.reports.flatten import flatten, layout
from guard.reports.gx_suite import Compared, ExpectationSpec, build_suite, gx_value
from guard.reports.stats import Thresholds, classify, side

LIMITS = Thresholds()
SPEC = ContractSpec.model_validate(
    {
        "subject": "s",
        "version": 1,
        "fields": {
            "amount": {"type": "number", "minimum": 0, "exclusive_maximum": 100},
            "currency": {"type": "string", "enum": ["EUR", "USD"]},
            "code": {"type": "string", "pattern": "^[A-Z]+$", "max_length": 8, "required": False},
            "paid": {"type": "boolean"},
            "lines": {"type": "array", "max_items": 5, "items": {"type": "integer"}},
        },
    }
)


def compared(base: list[dict[str, Any]], cur: list[dict[str, Any]]) -> list[Compared]:
    out = []
    b_tabs, c_tabs = flatten(base, SPEC), flatten(cur, SPEC)
    for col in layout(SPEC).columns:
        how = classify(col, b_tabs[col.table], LIMITS)
        if how is None:
            continue
        kind, measure = how
        b = side(b_tabs[col.table].column(col.path), col, kind, measure)
        c = side(c_tabs[col.table].column(col.path), col, kind, measure)
        out.append(Compared(col, kind, measure, b, c))
    return out


def records(seed: int, n: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "amount": rng.uniform(1, 99),
            "currency": rng.choice(["EUR", "USD"]),
            "code": rng.choice(["AB", "CD", "EF"]),
            "paid": rng.random() < 0.8,
            "lines": [1] * rng.randint(0, 5),
        }
        for _ in range(n)
    ]


def by(suite: list[ExpectationSpec], column: str, kind: str) -> ExpectationSpec:
    return next(e for e in suite if e.column == column and e.type == kind)


@pytest.fixture(scope="module")
def suite() -> list[ExpectationSpec]:
    return build_suite(compared(records(1, 1000), records(2, 500)), LIMITS)


def test_contract_rules_become_contract_expectations(suite: list[ExpectationSpec]) -> None:
    contract = {(e.column, e.type) for e in suite if e.source == "contract"}
    assert contract == {
        ("amount", "ExpectColumnValuesToNotBeNull"),
        ("amount", "ExpectColumnValuesToBeBetween"),
        ("currency", "ExpectColumnValuesToNotBeNull"),
        ("currency", "ExpectColumnValuesToBeInSet"),
        ("code", "ExpectColumnValuesToMatchRegex"),
        ("code", "ExpectColumnValueLengthsToBeBetween"),
        ("paid", "ExpectColumnValuesToNotBeNull"),
        ("lines", "ExpectColumnValuesToNotBeNull"),
        ("lines", "ExpectColumnValuesToBeBetween"),
        ("lines[]", "ExpectColumnValuesToNotBeNull"),
    }


def test_exclusive_bounds_become_strict_ones(suite: list[ExpectationSpec]) -> None:
    assert by(suite, "amount", "ExpectColumnValuesToBeBetween").kwargs == {
        "min_value": 0,
        "max_value": 100,
        "strict_max": True,
    }
    assert by(suite, "lines", "ExpectColumnValuesToBeBetween").kwargs == {
        "min_value": None,
        "max_value": 5,
    }


def test_the_baseline_sets_non_null_share_quantiles_and_kl(suite: list[ExpectationSpec]) -> None:
    share = by(suite, "amount", "ExpectColumnProportionOfNonNullValuesToBeBetween").kwargs
    assert share == {"min_value": 0.95, "max_value": 1.0}
    quantiles = by(suite, "amount", "ExpectColumnQuantileValuesToBeBetween").kwargs
    ranges = quantiles["quantile_ranges"]["value_ranges"]
    assert quantiles["quantile_ranges"]["quantiles"] == [0.1, 0.5, 0.9]
    assert all(lo < hi for lo, hi in ranges) and ranges[0][1] < ranges[2][0]
    kl = by(suite, "amount", "ExpectColumnKLDivergenceToBeLessThan").kwargs
    assert kl["partition_object"]["bins"][0] == float("-inf")
    assert sum(kl["partition_object"]["weights"]) == pytest.approx(1.0)
    assert kl["threshold"] == LIMITS.kl


def test_categorical_kl_lets_new_values_weigh_in(suite: list[ExpectationSpec]) -> None:
    kl = by(suite, "paid", "ExpectColumnKLDivergenceToBeLessThan").kwargs
    assert kl["partition_object"]["values"] == ["false", "true"]
    assert kl["tail_weight_holdout"] == LIMITS.new_values


def test_small_samples_get_wider_tolerances() -> None:
    small = build_suite(compared(records(1, 1000), records(2, 30)), LIMITS)
    large = build_suite(compared(records(1, 1000), records(2, 500)), LIMITS)

    def width(s: list[ExpectationSpec]) -> float:
        lo, hi = by(s, "amount", "ExpectColumnQuantileValuesToBeBetween").kwargs["quantile_ranges"][
            "value_ranges"
        ][1]
        return float(hi - lo)

    assert width(small) > width(large)
    kl_small = by(small, "amount", "ExpectColumnKLDivergenceToBeLessThan").kwargs["threshold"]
    assert kl_small > LIMITS.kl


def test_gx_sees_typed_values_and_missing_for_the_wrong_type() -> None:
    cols = {c.column.path: c for c in compared(records(1, 20), records(2, 20))}
    assert gx_value(3, cols["amount"]) == 3.0
    assert gx_value("3", cols["amount"]) is None
    assert gx_value(True, cols["paid"]) == "true"
    assert gx_value([1, 2], cols["lines"]) == 2.0
