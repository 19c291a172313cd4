"""A version's rule outcomes as verdict data: `quarantine` rules become errors, `warn` rules
become warnings (the record passes, the warning is counted)."""

from __future__ import annotations

from typing import Any

from guard.contracts.rules import RuleOutcome, RuleSet
from guard.validation.reasons import FieldError, Reason


def judge(
    rules: RuleSet, record: dict[str, Any], version: int
) -> tuple[tuple[FieldError, ...], tuple[FieldError, ...]]:
    """(errors, warnings) of `rules` on `record`; both empty when every rule holds."""
    errors: list[FieldError] = []
    warnings: list[FieldError] = []
    for outcome in rules.evaluate(record):
        target = warnings if outcome.rule.on_failure == "warn" else errors
        target.append(rule_error(outcome, version))
    return tuple(errors), tuple(warnings)


def rule_error(outcome: RuleOutcome, version: int) -> FieldError:
    rule = outcome.rule
    if outcome.kind == "failed":
        message = rule.message or f"rule {rule.name} does not hold"
        return FieldError("", Reason.RULE_FAILED, message, version, rule=rule.name)
    message = f"rule {rule.name} could not be evaluated: {outcome.detail}"
    return FieldError("", Reason.RULE_ERROR, message, version, rule=rule.name)


def rule_hits(
    errors: tuple[FieldError, ...], warnings: tuple[FieldError, ...]
) -> list[tuple[str, str, str]]:
    """(rule, action, reason) for each rule a verdict names: action `quarantine` for its
    errors, `warn` for its warnings; reason `rule_failed` or `rule_error`."""
    hits = [(e.rule, "quarantine", e.code.value) for e in errors if e.rule is not None]
    hits += [(w.rule, "warn", w.code.value) for w in warnings if w.rule is not None]
    return hits
