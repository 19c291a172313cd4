"""The Great Expectations suite generated from the contract and the engine's rules (no GX)."""

from __future__ import annotations

import random
from typing import Any

from guard.config.settings import SketchSettings
from guard.contracts.spec import ContractSpec
from guard.monitoring.field_profile import MISSING, FieldProfile
from guard.monitoring.thresholds import FieldThresholds
from guard.reports.gx_suite import Column, ExpectationSpec, build_suite

SPEC = ContractSpec.model_validate(
    {
        "subject": "s",
        "version": 1,
        "fields": {
            "amount": {"type": "number", "minimum": 0, "exclusive_maximum": 100},
            "currency": {"type": "string", "enum": ["EUR", "USD"]},
            "code": {"type": "string", "pattern": "^[A-Z]+$", "max_length": 8, "required": False},
            "lines": {"type": "array", "max_items": 5, "items": {"type": "integer"}},
        },
    }
)


def _profile(values: list[Any], categories: bool) -> FieldProfile:
    fp = FieldProfile(SketchSettings())
    fp.update(values, categories)
    return fp


def _columns(thresholds: FieldThresholds) -> list[Column]:
    rng = random.Random(1)
    n = 1000
    amount = [rng.gauss(50, 10) for _ in range(n)]
    currency = [rng.choice(["EUR", "USD"]) for _ in range(n)]
    code = [MISSING if i % 10 == 0 else "AB" for i in range(n)]
    lines = [[1] * rng.randint(0, 5) for _ in range(n)]
    f = SPEC.fields
    return [
        Column("amount", f["amount"], True, "value", thresholds, _profile(amount, False), n),
        Column(
            "currency", f["currency"], True, "categories", thresholds, _profile(currency, True), n
        ),
        Column("code", f["code"], False, "categories", thresholds, _profile(code, True), n),
        Column("lines", f["lines"], True, "length", thresholds, _profile(lines, False), n),
    ]


def by(suite: list[ExpectationSpec], column: str, kind: str, source: str) -> ExpectationSpec:
    return next(e for e in suite if (e.column, e.type, e.source) == (column, kind, source))


def test_contract_expectations_follow_the_contract_file() -> None:
    suite = build_suite(_columns(FieldThresholds()))
    assert by(suite, "amount", "ExpectColumnValuesToBeBetween", "contract").kwargs == {
        "min_value": 0,
        "max_value": 100,
        "strict_max": True,
    }
    assert by(suite, "currency", "ExpectColumnValuesToBeInSet", "contract").kwargs == {
        "value_set": ["EUR", "USD"]
    }
    assert by(suite, "code", "ExpectColumnValuesToMatchRegex", "contract").kwargs == {
        "regex": "^[A-Z]+$"
    }
    assert by(suite, "lines", "ExpectColumnValuesToBeBetween", "contract").kwargs == {
        "min_value": None,
        "max_value": 5,
    }
    not_null = {e.column for e in suite if e.type == "ExpectColumnValuesToNotBeNull"}
    assert not_null == {"amount", "currency", "lines"}  # `code` is optional


def test_engine_expectations_use_the_engines_thresholds_around_the_baseline() -> None:
    t = FieldThresholds(null_rate_abs=0.05, missing_rate_abs=0.05, wasserstein=0.1)
    suite = build_suite(_columns(t))
    share = by(suite, "code", "ExpectColumnProportionOfNonNullValuesToBeBetween", "engine")
    assert share.kwargs == {"min_value": 0.85, "max_value": 0.95}  # 90% present, +-0.05
    quantiles = by(suite, "amount", "ExpectColumnQuantileValuesToBeBetween", "engine")
    low, high = quantiles.kwargs["quantile_ranges"]["value_ranges"][1]  # the median
    assert 49 < (low + high) / 2 < 51 and 1.5 < high - low < 2.5  # +-0.1 sd, sd ~ 10
    values = by(suite, "currency", "ExpectColumnValuesToBeInSet", "engine")
    assert values.kwargs == {"value_set": ["EUR", "USD"]}  # the baseline's categories


def test_a_check_switched_off_in_the_engine_has_no_expectation() -> None:
    t = FieldThresholds(wasserstein=None, new_categories=False)
    suite = build_suite(_columns(t))
    kinds = {(e.column, e.type) for e in suite if e.source == "engine"}
    assert ("amount", "ExpectColumnQuantileValuesToBeBetween") not in kinds
    assert ("currency", "ExpectColumnValuesToBeInSet") not in kinds
