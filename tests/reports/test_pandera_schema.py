"""pandera schemas derived from a contract, over the flattened tables."""

from __future__ import annotations

import json
import random
from typing import Any

import pandera.pandas as pa
import pytest

from guard.contracts import load_registry
from guard.contracts.registry import Subject
from guard.contracts.spec import ContractSpec
from guard.demo.samples import good_order
from guard.reports.flatten import flatten, layout
from guard.reports.frames import raw_frame
from guard.reports.pandera_schema import pandera_schemas
from guard.validation.validator import RecordValidator
from tests.fixtures.paths import REPO

SCHEMAS = REPO / "schemas"


@pytest.fixture(scope="module")
def orders() -> Subject:
    return load_registry(SCHEMAS).subject("orders")


def failures(spec: ContractSpec, records: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    """(column, check, record number) of every pandera failure case."""
    tables = flatten(records, spec)
    lay = layout(spec)
    out: list[tuple[str, str, int]] = []
    for name, schema in pandera_schemas(spec).items():
        if not len(tables[name]):
            continue
        frame = raw_frame(tables[name], [c.path for c in lay.in_table(name)])
        try:
            schema.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as exc:
            fc = exc.failure_cases
            out += [
                (str(c), str(k), int(i))
                for c, k, i in zip(fc["column"], fc["check"], fc["index"], strict=True)
            ]
    return out


def test_one_schema_per_table_with_a_column_per_declared_field(orders: Subject) -> None:
    schemas = pandera_schemas(orders.versions[2].spec)
    assert list(schemas) == ["", "items[]"]
    assert "shipping.country" in schemas[""].columns
    assert set(schemas["items[]"].columns) == {"items[]", "items[].sku", "items[].qty"}


def test_failure_cases_name_field_rule_and_row(orders: Subject) -> None:
    rng = random.Random(1)
    records = [good_order(rng) for _ in range(4)]
    records[1]["amount"] = "12.50"
    records[2]["quantity"] = 0
    records[3]["items"] = [{"sku": "A", "qty": 1}, {"sku": "", "qty": 1}]
    assert sorted(failures(orders.versions[2].spec, records)) == [
        ("amount", "type(number)", 1),
        ("items[].sku", "length(min 1, max 64)", 3),
        ("quantity", "range(minimum 1, maximum 10000)", 2),
    ]


def test_required_and_nullable_are_checked_separately(orders: Subject) -> None:
    rng = random.Random(2)
    records = [good_order(rng) for _ in range(3)]
    del records[0]["customer_email"]
    records[1]["channel"] = None  # optional, but not nullable
    records[2]["coupon"] = None  # optional and nullable: fine
    assert sorted(failures(orders.versions[2].spec, records)) == [
        ("channel", "not_nullable", 1),
        ("customer_email", "required", 0),
    ]


def test_undeclared_fields_fail_only_where_the_contract_rejects_them(orders: Subject) -> None:
    rng = random.Random(3)
    records = [good_order(rng, version=1) for _ in range(2)]
    records[1]["note"] = "hi"
    assert failures(orders.versions[1].spec, records) == [("note", "undeclared_field", 1)]
    assert failures(orders.versions[2].spec, records) == []


def _mutations(rng: random.Random, version: int) -> list[dict[str, Any]]:
    """Valid orders and orders broken one field-level way each (what files carry)."""
    out: list[dict[str, Any]] = []
    breakers = [
        lambda o: o.update(amount="12.50"),
        lambda o: o.update(amount=-1),
        lambda o: o.update(quantity=2**70),
        lambda o: o.update(quantity=1.0),
        lambda o: o.update(currency="JPY"),
        lambda o: o.update(coupon="save 10%!"),
        lambda o: o.update(order_id="not-a-uuid"),
        lambda o: o.update(created_at="2026-13-40T99:00:00Z"),
        lambda o: o.update(customer_email="nobody"),
        lambda o: o.pop("order_id"),
        lambda o: o.update(channel=None),
        lambda o: o.update(shipping={"country": "de", "postcode": "1"}),
        lambda o: o.update(shipping={"country": "DE"}),
        lambda o: o.update(shipping="DE"),
        lambda o: o.update(items=[{"sku": "A", "qty": 0}]),
        lambda o: o.update(items=[{"sku": "A"}]),
        lambda o: o.update(items=[None]),
        lambda o: o.update(items=[{"sku": "A", "qty": 1}] * 501),
        lambda o: o.update(items="A"),
        lambda o: o.update(note="undeclared"),
        lambda o: o.update(shipping={"country": "DE", "postcode": "1", "floor": 2}),
    ]
    for i in range(60):
        o = good_order(rng, version)
        if i % 2:
            breakers[(i // 2) % len(breakers)](o)
        out.append(o)
    return out


@pytest.mark.parametrize("version", [1, 2])
def test_pandera_and_the_guard_reject_the_same_records(orders: Subject, version: int) -> None:
    records = _mutations(random.Random(version), version)
    spec = orders.versions[version].spec
    flagged = {row for _, _, row in failures(spec, records)}
    validator = RecordValidator(orders, [version])
    rejected = {
        i for i, r in enumerate(records) if not validator.validate(json.dumps(r).encode()).ok
    }
    assert 0 < len(rejected) < len(records)  # valid and broken records both
    assert flagged == rejected
