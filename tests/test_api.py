"""The stable Python API (guard.api): what teams with their own consumer import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import guard.api as api
from guard.api import Reason, load_contracts
from guard.quarantine.envelope import read_envelope
from tests.fixtures.paths import SCHEMAS

GOOD = {
    "order_id": "c2b9546e-0f02-40f3-adb7-f1d5cbf15150",
    "customer_email": "a@example.com",
    "amount": 10.5,
    "currency": "EUR",
    "quantity": 1,
    "created_at": "2026-11-13T05:15:00Z",
}


def test_every_exported_name_exists_and_nothing_private_is_exported() -> None:
    for name in api.__all__:
        assert hasattr(api, name), name
        assert not name.startswith("_")


def test_import_guard_exports_the_whole_public_api() -> None:
    import guard

    assert set(guard.__all__) == {*api.__all__, "__version__"}
    for name in api.__all__:
        assert getattr(guard, name) is getattr(api, name), name
    assert set(guard.__all__) <= set(dir(guard))
    with pytest.raises(AttributeError):
        guard.no_such_name  # noqa: B018


def test_import_guard_loads_the_api_only_when_a_name_is_used() -> None:
    """`guard --help` imports the package: it must stay light (no pydantic)."""
    code = (
        "import sys, guard; assert 'pydantic' not in sys.modules, 'eager'; "
        "guard.load_contracts; assert 'guard.api' in sys.modules; print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_contracts_list_their_subjects_and_versions() -> None:
    contracts = load_contracts(SCHEMAS)
    assert contracts.subjects == ["orders"]
    assert contracts.versions("orders") == [1, 2]


def test_a_broken_schemas_dir_raises_the_guards_contract_error() -> None:
    with pytest.raises(api.GuardError):
        load_contracts(SCHEMAS / "no-such-dir").validator("orders")


def test_validate_gives_the_services_verdict_for_bytes() -> None:
    orders = load_contracts(SCHEMAS).validator("orders")
    assert orders.validate(json.dumps(GOOD).encode()).ok
    bad = orders.validate(json.dumps({**GOOD, "quantity": 0}).encode())
    assert [(e.path, e.code) for e in bad.errors] == [("quantity", Reason.OUT_OF_RANGE)]


def test_validate_accepts_the_version_header_as_text_or_bytes() -> None:
    orders = load_contracts(SCHEMAS).validator("orders", accepted="all")
    value = json.dumps(GOOD).encode()
    assert orders.validate(value, version_header="v1").version == 1
    assert orders.validate(value, version_header=b"2").version == 2


def test_validate_dict_applies_the_same_poison_rules() -> None:
    orders = load_contracts(SCHEMAS).validator("orders")
    assert orders.validate_dict(GOOD).ok
    nan = orders.validate_dict({**GOOD, "amount": float("nan")})
    assert [e.code for e in nan.errors] == [Reason.NOT_FINITE]
    odd = orders.validate_dict({**GOOD, "amount": object()})
    assert not odd.ok


def test_quarantine_headers_keep_the_originals_then_add_the_envelope() -> None:
    orders = load_contracts(SCHEMAS).validator("orders")
    verdict = orders.validate(b"not json")
    headers = orders.quarantine_headers(
        verdict, topic="orders", partition=1, offset=7, headers=[("trace", b"t"), ("n", None)]
    )
    assert headers[:2] == [("trace", b"t"), ("n", b"")]
    envelope = read_envelope(headers)
    assert envelope["source"]["offset"] == 7 and envelope["reasons"] == ["not_json"]


def test_quarantine_headers_in_connect_style_use_connects_names() -> None:
    orders = load_contracts(SCHEMAS).validator("orders")
    verdict = orders.validate(b"{}")
    names = {k for k, _ in orders.quarantine_headers(verdict, topic="t", style="connect")}
    assert "__connect.errors.topic" in names and "guard.source.topic" not in names


def test_a_valid_record_has_no_envelope() -> None:
    orders = load_contracts(SCHEMAS).validator("orders")
    with pytest.raises(ValueError):
        orders.quarantine_headers(orders.validate(json.dumps(GOOD).encode()))


def test_api_verdicts_carry_rule_failures_and_warn_rules() -> None:
    examples = SCHEMAS.parent / "examples" / "rules"
    orders = load_contracts(examples).validator("orders")
    order = {
        "order_id": "3f1c2a9e-5b7d-4c1e-9a2f-0d8e6b4c7a11",
        "customer_email": "ada@example.com",
        "amount": 129.5,
        "currency": "CHF",
        "quantity": 1,
        "created_at": "2026-11-21T09:15:00Z",
        "shipping": {"country": "DE", "postcode": "10115"},
    }
    verdict = orders.validate_dict(order)
    assert verdict.reasons == ("rule_failed",)
    assert verdict.errors[0].rule == "chf_ships_to_switzerland"
    headers = dict(orders.quarantine_headers(verdict, topic="orders", partition=0, offset=7))
    assert b'"rule":"chf_ships_to_switzerland"' in headers["guard.errors"]
    two_lines = {**order, "currency": "EUR", "items": [{"sku": "A", "qty": 1}] * 2}
    passed = orders.validate_dict(two_lines)
    assert passed.ok
    assert [w.rule for w in passed.warnings] == ["lines_within_quantity"]
