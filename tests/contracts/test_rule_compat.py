"""Rule changes in `guard schemas diff` and in the compatibility check (docs/rules.md)."""

from __future__ import annotations

from typing import Any

import pytest

from guard.contracts.compat import check_pair
from guard.contracts.diff import diff_specs
from guard.contracts.spec import ContractSpec

FIELDS = {"amount": {"type": "number"}, "quantity": {"type": "integer"}}
POSITIVE = {"name": "positive", "expr": "record.amount > 0.0"}


def _spec(version: int, *rules: dict[str, Any]) -> ContractSpec:
    return ContractSpec.model_validate(
        {"subject": "s", "version": version, "fields": FIELDS, "rules": list(rules)}
    )


def _directions(old: ContractSpec, new: ContractSpec) -> set[str]:
    return {b.direction for b in check_pair(old, new, "FULL")}


def test_adding_a_quarantine_rule_breaks_backward_only() -> None:
    breaks = check_pair(_spec(1), _spec(2, POSITIVE), "FULL")
    assert [(b.direction, b.field, b.rule) for b in breaks] == [
        ("backward", "rule:positive", "rule")
    ]


def test_removing_a_quarantine_rule_breaks_forward_only() -> None:
    assert _directions(_spec(1, POSITIVE), _spec(2)) == {"forward"}


def test_changing_a_quarantine_rules_expression_breaks_both() -> None:
    stricter = {**POSITIVE, "expr": "record.amount > 1.0"}
    assert _directions(_spec(1, POSITIVE), _spec(2, stricter)) == {"backward", "forward"}


def test_warn_to_quarantine_breaks_backward_and_back_breaks_forward() -> None:
    warn = {**POSITIVE, "on_failure": "warn"}
    assert _directions(_spec(1, warn), _spec(2, POSITIVE)) == {"backward"}
    assert _directions(_spec(1, POSITIVE), _spec(2, warn)) == {"forward"}


@pytest.mark.parametrize(
    "new",
    [
        {**POSITIVE, "message": "amounts are positive"},
        {**POSITIVE, "name": "renamed"},
    ],
)
def test_messages_and_names_never_break(new: dict[str, Any]) -> None:
    assert _directions(_spec(1, POSITIVE), _spec(2, new)) == set()


def test_warn_rules_never_break() -> None:
    warn = {"name": "w", "expr": "record.quantity < 10", "on_failure": "warn"}
    assert _directions(_spec(1), _spec(2, warn)) == set()
    assert _directions(_spec(1, warn), _spec(2)) == set()


def test_diff_shows_rules_added_removed_and_changed() -> None:
    old = _spec(1, POSITIVE, {"name": "gone", "expr": "true"})
    new = _spec(
        2,
        {**POSITIVE, "expr": "record.amount >= 0.0", "on_failure": "warn"},
        {"name": "new", "expr": "record.quantity > 0", "message": "units"},
    )
    shown = [c.render() for c in diff_specs(old, new)]
    assert shown == [
        "~ rule:positive.expr: 'record.amount > 0.0' -> 'record.amount >= 0.0'",
        "~ rule:positive.on_failure: quarantine -> warn",
        "- rule:gone: quarantine: true",
        "+ rule:new: quarantine: record.quantity > 0",
    ]
    assert diff_specs(old, new)[0].to_json()["field"] == "rule:positive"


def test_the_same_rule_over_a_field_widened_from_integer_to_number_breaks_backward() -> None:
    # CEL sees an integer field as an int and a number field as a double: `%` has no double
    # overload, so v2 would quarantine (rule_error) every record v1 accepted.
    even = {"name": "even", "expr": "record.quantity % 2 == 0"}
    widened = {**FIELDS, "quantity": {"type": "number"}}
    v1 = _spec(1, even)
    v2 = ContractSpec.model_validate(
        {"subject": "s", "version": 2, "fields": widened, "rules": [even]}
    )
    breaks = check_pair(v1, v2, "BACKWARD")
    assert [(b.direction, b.field) for b in breaks] == [("backward", "rule:even")]
    assert "quantity" in breaks[0].why
    assert _directions(_spec(1, POSITIVE), _spec(2, POSITIVE)) == set()
