"""With contract rules the router judges a batch in two passes (field checks, then the
batch's rules); the verdicts are exactly those of judging record by record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guard.contracts import load_registry
from guard.demo.samples import sample_stream
from guard.routing import RoutePlan, Router
from guard.transport.base import InRecord
from guard.validation import RecordValidator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "rules"
RULE_LINES = (EXAMPLE.parents[0] / "data" / "orders-rules.jsonl").read_bytes().splitlines()


def _batch() -> list[InRecord]:
    values: list[tuple[bytes | None, list[tuple[str, bytes | None]]]] = [
        (s.value, list(s.headers)) for s in sample_stream(200, bad_share=0.3, seed=2)
    ]
    for i, line in enumerate(RULE_LINES * 10):
        header: list[tuple[str, bytes | None]] = [("schema-version", b"3")] if i % 2 else []
        values.insert(5 * i, (line, header))
    values.append((None, []))  # a tombstone with a key
    return [InRecord("orders", 0, i, 1, b"k%d" % i, v, h) for i, (v, h) in enumerate(values)]


@pytest.mark.parametrize("accepted", ["latest", "all"])
@pytest.mark.parametrize("tombstones", ["quarantine", "forward"])
def test_batched_rules_give_the_record_by_record_verdicts(accepted: str, tombstones: str) -> None:
    subject = load_registry(EXAMPLE).subject("orders")
    validator = RecordValidator(subject, accepted)  # type: ignore[arg-type]
    plan = RoutePlan("orders", validator, "o.valid", "o.q", 1, 1)
    router = Router({"orders": plan}, "schema-version", tombstones)  # type: ignore[arg-type]
    assert router._rules_batched
    batch = _batch()
    routed = router.route(batch)
    for rec, verdict in routed.verdicts:
        if rec.value is None and tombstones == "forward":
            continue
        header = rec.header("schema-version")
        alone = validator.validate(rec.value, header)
        assert (verdict.ok, verdict.version, verdict.reasons) == (
            alone.ok,
            alone.version,
            alone.reasons,
        ), json.dumps(rec.value.decode() if rec.value else None)
        assert verdict.errors == alone.errors and verdict.warnings == alone.warnings
        assert verdict.pending is None
    reasons = {r for _, v in routed.verdicts for r in v.reasons}
    assert "rule_failed" in reasons
    assert any(v.warnings for _, v in routed.verdicts)


def test_without_rules_the_router_judges_record_by_record() -> None:
    subject = load_registry(EXAMPLE.parents[1] / "schemas").subject("orders")
    plan = RoutePlan("orders", RecordValidator(subject, "all"), "o.valid", "o.q", 1, 1)
    assert not Router({"orders": plan}, "schema-version")._rules_batched
