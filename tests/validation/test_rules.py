"""Rules in the per-record validator: rule_failed / rule_error verdicts naming the rule, warn
rules that pass and are reported, and hostile records or rules that never crash evaluation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guard.contracts import load_registry
from guard.contracts.rules import RuleCompileError, compile_rules
from guard.contracts.spec import ContractSpec
from guard.validation import Reason, RecordValidator
from tests.fixtures.json_strategies import json_scalars, json_values
from tests.fixtures.paths import REPO

EXAMPLE = REPO / "examples" / "rules"

GOOD: dict[str, Any] = {
    "order_id": "3f1c2a9e-5b7d-4c1e-9a2f-0d8e6b4c7a11",
    "customer_email": "ada@example.com",
    "amount": 129.5,
    "currency": "CHF",
    "quantity": 3,
    "created_at": "2026-11-21T09:15:00Z",
    "shipping": {"country": "CH", "postcode": "8001"},
}


def _validator(accepted: str = "latest", root: Path = EXAMPLE) -> RecordValidator:
    return RecordValidator(load_registry(root).subject("orders"), accepted)  # type: ignore[arg-type]


def _bytes(record: dict[str, Any]) -> bytes:
    return json.dumps(record).encode()


def test_record_passing_every_rule_is_valid_without_warnings() -> None:
    verdict = _validator().validate(_bytes(GOOD))
    assert verdict.ok
    assert verdict.version == 3
    assert verdict.warnings == ()


def test_failing_quarantine_rule_gives_rule_failed_with_name_and_message() -> None:
    verdict = _validator().validate(
        _bytes({**GOOD, "shipping": {"country": "DE", "postcode": "1"}})
    )
    assert not verdict.ok
    assert verdict.reasons == ("rule_failed",)
    [error] = verdict.errors
    assert error.to_json() == {
        "field": "",
        "code": "rule_failed",
        "message": "CHF orders ship to Switzerland",
        "version": 3,
        "rule": "chf_ships_to_switzerland",
    }


def test_failing_warn_rule_passes_the_record_and_names_the_rule() -> None:
    lines = [{"sku": "A", "qty": 1}] * 4  # four lines, three units
    verdict = _validator().validate(_bytes({**GOOD, "items": lines}))
    assert verdict.ok
    [warning] = verdict.warnings
    assert (warning.code, warning.rule) == (Reason.RULE_FAILED, "lines_within_quantity")


def test_rules_do_not_run_when_a_field_check_fails() -> None:
    bad = {**GOOD, "quantity": 0, "shipping": {"country": "DE", "postcode": "1"}}
    verdict = _validator().validate(_bytes(bad))
    assert verdict.reasons == ("out_of_range",)


def test_rule_that_cannot_be_evaluated_gives_rule_error(tmp_path: Path) -> None:
    root = tmp_path / "schemas"
    shutil.copytree(EXAMPLE, root)
    v3 = root / "orders" / "v3.yaml"
    doc = yaml.safe_load(v3.read_text())
    doc["rules"] = [{"name": "coupon_upper", "expr": "record.coupon.upperAscii() == 'X'"}]
    v3.write_text(yaml.safe_dump(doc))
    verdict = _validator(root=root).validate(_bytes(GOOD))  # no coupon: missing key
    assert verdict.reasons == ("rule_error",)
    [error] = verdict.errors
    assert error.rule == "coupon_upper"
    assert "could not be evaluated: no field 'coupon' in the record" in error.message


def test_with_all_versions_an_older_version_without_the_rule_may_accept() -> None:
    verdict = _validator("all").validate(_bytes({**GOOD, "shipping": {"country": "DE"}}))
    # v3's rule fails (and v3's postcode-less shipping would not even pass v2's fields)
    assert not verdict.ok
    ok = _validator("all").validate(
        _bytes({**GOOD, "shipping": {"country": "DE", "postcode": "10115"}})
    )
    assert ok.ok and ok.version == 2 and ok.versions_tried == (3, 2)


# --- hostile records and rules -----------------------------------------------------------------

_scalars = json_scalars(text_size=8)
_values = json_values(text_size=8, leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    patch=st.dictionaries(
        st.sampled_from([*GOOD, "items", "coupon", "channel", "extra"]), _values, max_size=5
    ),
    drop=st.sets(st.sampled_from(list(GOOD)), max_size=3),
)
def test_random_records_never_crash_rule_evaluation(patch: dict[str, Any], drop: set[str]) -> None:
    record = {k: v for k, v in {**GOOD, **patch}.items() if k not in drop}
    verdict = _validator("all").validate(json.dumps(record).encode())
    assert isinstance(verdict.ok, bool)
    for error in (*verdict.errors, *verdict.warnings):
        if error.code in (Reason.RULE_FAILED, Reason.RULE_ERROR):
            assert error.rule is not None


FIELDS: dict[str, Any] = {
    "n": {"type": "integer"},
    "x": {"type": "number"},
    "s": {"type": "string"},
    "b": {"type": "boolean", "required": False},
    "o": {"type": "object", "required": False, "fields": {"k": {"type": "string"}}},
    "a": {"type": "array", "required": False, "items": {"type": "integer"}},
}

_atoms = st.sampled_from(
    [
        "record.n",
        "record.x",
        "record.s",
        "record.b",
        "record.o.k",
        "record.a",
        "size(record.a)",
        "size(record.s)",
        "has(record.o)",
        "has(record.o.k)",
        "0",
        "1",
        "-1",
        "9223372036854775807",
        "-9223372036854775808",
        "0.0",
        "1e308",
        "'CH'",
        "''",
        "true",
        "null",
        "[1, 2]",
        "double(record.n)",
        "int(record.x)",
        "string(record.n)",
        "record.a.all(v, v > 0)",
        "record.a.map(v, v * 2)",
        "record.a.exists(v, v == record.n)",
        "record.s.matches('^[A-Z]+$')",
        "timestamp(record.s)",
    ]
)
_binary = ["+", "-", "*", "/", "%", "<", "<=", "==", "!=", ">", "&&", "||", "in"]


def _expr(depth: int) -> st.SearchStrategy[str]:
    if depth == 0:
        return _atoms
    sub = _expr(depth - 1)
    return st.one_of(
        _atoms,
        st.tuples(sub, st.sampled_from(_binary), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        sub.map(lambda e: f"!({e})"),
        st.tuples(sub, sub, sub).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
    )


_records = st.fixed_dictionaries(
    {"n": _scalars, "x": _scalars, "s": _scalars},
    optional={"b": _scalars, "o": _values, "a": _values},
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=_expr(3), records=st.lists(_records, min_size=1, max_size=3))
def test_random_valid_looking_rules_compile_or_are_refused_and_never_crash(
    expr: str, records: list[dict[str, Any]]
) -> None:
    spec = ContractSpec.model_validate(
        {"subject": "s", "version": 1, "fields": FIELDS, "rules": [{"name": "r", "expr": expr}]}
    )
    try:
        rules = compile_rules(spec)
    except RuleCompileError as exc:
        assert exc.rule == "r" and exc.line >= 1 and exc.column >= 1
        return
    for record in records:
        for outcome in rules.evaluate(record):
            assert outcome.kind in ("failed", "error")
            assert outcome.rule.name == "r"


def test_a_value_cel_cannot_hold_errors_only_the_rules_that_read_it() -> None:
    spec = ContractSpec.model_validate(
        {
            "subject": "s",
            "version": 1,
            "fields": FIELDS,
            "rules": [{"name": "r1", "expr": "record.n > 0"}, {"name": "r2", "expr": "true"}],
        }
    )
    outcomes = compile_rules(spec).evaluate({"n": 2**80})
    assert [(o.rule.name, o.kind) for o in outcomes] == [("r1", "error")]


@pytest.mark.parametrize("value", ["\ud800", b"raw", object()])
def test_values_json_never_carries_still_do_not_crash(value: object) -> None:
    spec = ContractSpec.model_validate(
        {
            "subject": "s",
            "version": 1,
            "fields": FIELDS,
            "rules": [{"name": "r", "expr": "record.s == 'a'"}],
        }
    )
    outcomes = compile_rules(spec).evaluate({"s": value})
    assert all(o.kind in ("failed", "error") for o in outcomes)
