"""Contract rules on the real broker, both transports: rule failures and rule errors land in
quarantine exactly once naming the rule; warn rules pass and are counted in /metrics."""

from __future__ import annotations

import json
import shutil
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from guard.demo.samples import Sample
from guard.localbroker import LocalKafka
from guard.localbroker.broker import free_port
from tests.fixtures.guard_process import GuardProcess
from tests.fixtures.paths import REPO
from tests.integration.service.kafka_helpers import create, outputs, produce_samples, write_config
from tests.integration.service.test_metrics import _get, _sample, _until

pytestmark = pytest.mark.integration

EXAMPLE = REPO / "examples" / "rules"
PARTITIONS = 2


def _order(**patch: Any) -> dict[str, Any]:
    return {
        "order_id": str(uuid.uuid4()),
        "customer_email": "ada@example.com",
        "amount": 129.5,
        "currency": "EUR",
        "quantity": 3,
        "created_at": "2026-11-21T09:15:00Z",
        **patch,
    }


# kind -> (record, expected reason or None for valid, rule named)
KINDS: dict[str, tuple[dict[str, Any], str | None, str | None]] = {
    "good": (_order(), None, None),
    "chf_abroad": (
        _order(currency="CHF", shipping={"country": "DE", "postcode": "10115"}),
        "rule_failed",
        "chf_ships_to_switzerland",
    ),
    "too_dear": (_order(amount=900000, quantity=1), "rule_failed", "amount_per_unit_plausible"),
    "two_units": (_order(quantity=2, amount=10), "rule_error", "units_split_evenly"),
    "many_lines": (
        _order(items=[{"sku": "A", "qty": 1}] * 5),
        None,
        "lines_within_quantity",
    ),
    "bad_field": (_order(quantity=0), "out_of_range", None),
}


def _schemas(tmp_path: Path) -> Path:
    """The example contracts plus one rule that divides by zero when quantity is 2."""
    root = tmp_path / "schemas"
    shutil.copytree(EXAMPLE, root)
    v3 = root / "orders" / "v3.yaml"
    doc = yaml.safe_load(v3.read_text(encoding="utf-8"))
    doc["rules"].append(
        {"name": "units_split_evenly", "expr": "(record.quantity - 2) / (record.quantity - 2) == 1"}
    )
    v3.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return root


def test_rule_failures_and_errors_are_quarantined_once_and_warn_rules_counted(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    create(bootstrap, source, PARTITIONS)
    samples: list[Sample] = []
    kind_of: dict[bytes, str] = {}
    for i in range(60):
        kind = list(KINDS)[i % len(KINDS)]
        record = {**KINDS[kind][0], "order_id": str(uuid.uuid4())}
        key = f"k{i}".encode()
        kind_of[key] = kind
        samples.append(Sample(key, json.dumps(record).encode(), [], KINDS[kind][1]))
    placed = produce_samples(bootstrap, source, samples, PARTITIONS)

    port = free_port()
    config = write_config(
        tmp_path,
        bootstrap,
        source,
        unique("group"),
        kafka_client,
        schemas_dir=str(_schemas(tmp_path)),
        metrics={"port": port, "lag_seconds": 0.5},
    )
    url = f"http://127.0.0.1:{port}/metrics"
    labels = {"topic": source, "subject": "orders"}
    guard = GuardProcess(config, subprocess_env, "guard")
    try:

        def all_counted() -> bool:
            text = _get(url)[1]
            valid = _sample(text, "guard_records_total", outcome="valid", **labels) or 0
            bad = _sample(text, "guard_records_total", outcome="quarantined", **labels) or 0
            return valid + bad == len(samples)

        _until(all_counted, guard)
        text = _get(url)[1]
    finally:
        guard.proc.terminate()
        guard.finish()

    valid, quarantined = outputs(bootstrap, source, kafka_client)
    landed: Counter[tuple[int, int]] = Counter()
    by_key = {s.key: pos for pos, s in placed.items()}
    for r in valid:
        assert r.key is not None
        landed[by_key[r.key]] += 1
        assert KINDS[kind_of[r.key]][1] is None
    for r in quarantined:
        env = r.envelope
        pos = (env["source"]["partition"], env["source"]["offset"])
        landed[pos] += 1
        kind = kind_of[placed[pos].key or b""]
        _, reason, rule = KINDS[kind]
        assert env["reasons"] == [reason]
        named = [e.get("rule") for e in env["errors"]]
        assert named == [rule], f"{kind}: {env['errors']}"
    assert sorted(landed) == sorted(placed), "every input offset lands"
    assert set(landed.values()) == {1}, "exactly once"

    per_kind = Counter(kind_of.values())
    warn = {**labels, "rule": "lines_within_quantity", "action": "warn", "reason": "rule_failed"}
    assert _sample(text, "guard_rule_hits_total", **warn) == per_kind["many_lines"]
    failed = {**labels, "rule": "chf_ships_to_switzerland", "action": "quarantine"}
    assert (
        _sample(text, "guard_rule_hits_total", **failed, reason="rule_failed")
        == per_kind["chf_abroad"]
    )
    errored = {**labels, "rule": "units_split_evenly", "action": "quarantine"}
    assert (
        _sample(text, "guard_rule_hits_total", **errored, reason="rule_error")
        == per_kind["two_units"]
    )
    assert (
        _sample(text, "guard_quarantine_reasons_total", **labels, reason="rule_error")
        == (per_kind["two_units"])
    )
