"""The drift report counts failures per contract rule in JSON, Markdown and HTML."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from guard.cli.main import cli
from guard.reports.rules_section import rules_html, rules_json, rules_md
from tests.fixtures.paths import REPO

ROOT = REPO


def test_rules_json_lists_every_declared_rule_with_zeros() -> None:
    from collections import Counter

    hits = Counter({("a", "quarantine", "rule_failed"): 2, ("b", "warn", "rule_error"): 1})
    rows = rules_json(hits, [("a", "quarantine"), ("b", "warn"), ("c", "quarantine")])
    assert [(r["rule"], r["on_failure"], r["failed"], r["errors"]) for r in rows] == [
        ("a", "quarantine", 2, 0),
        ("b", "warn", 0, 1),
        ("c", "quarantine", 0, 0),
    ]
    assert {r["great_expectations"] for r in rows} == {"enforced by the guard"}
    assert {r["pandera"] for r in rows} == {"enforced by the guard"}
    assert rules_md([]) == [] and rules_html([]) == ""


def test_drift_report_counts_failures_per_rule_in_all_three_formats(tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(
        cli,
        [
            "drift",
            "report",
            "--subject",
            "orders",
            "--schemas-dir",
            str(ROOT / "examples" / "rules"),
            "--baseline",
            str(ROOT / "examples" / "data" / "orders-baseline.jsonl"),
            "--out",
            str(out),
            "--current",
            str(ROOT / "examples" / "data" / "orders-rules.jsonl"),
        ],
    )
    assert result.exit_code == 1, result.output  # two records break a quarantine rule
    data = json.loads((out / "report.json").read_text())
    assert data["contract"]["guard_reasons"] == {"rule_failed": 2}
    assert {r["rule"]: (r["on_failure"], r["failed"]) for r in data["contract"]["rules"]} == {
        "chf_ships_to_switzerland": ("quarantine", 1),
        "amount_per_unit_plausible": ("quarantine", 1),
        "lines_within_quantity": ("warn", 1),
    }
    md = (out / "report.md").read_text()
    assert "| `lines_within_quantity` | warn | 1 | 0 |" in md
    html = (out / "report.html").read_text()
    assert '<section id="rules">' in html
    assert "<td><code>chf_ships_to_switzerland</code></td><td>quarantine</td>" in html
    # The derived GX suite lists the rules it does not re-check.
    suite = json.loads((out / "gx" / "expectations" / "orders" / "v3.json").read_text())
    listed = suite["meta"]["enforced_by_guard"]
    assert [r["rule"] for r in listed] == [
        "chf_ships_to_switzerland",
        "amount_per_unit_plausible",
        "lines_within_quantity",
    ]
    assert {r["check"] for r in listed} == {"enforced by the guard"}


def test_pandera_schema_lists_the_rules_as_enforced_by_the_guard() -> None:
    from guard.contracts import load_registry
    from guard.reports.pandera_schema import pandera_schemas

    spec = load_registry(ROOT / "examples" / "rules").subject("orders").versions[3].spec
    for schema in pandera_schemas(spec).values():
        assert schema.metadata is not None
        listed = [r["rule"] for r in schema.metadata["enforced_by_guard"]]
        assert listed == [
            "chf_ships_to_switzerland",
            "amount_per_unit_plausible",
            "lines_within_quantity",
        ]
    plain = load_registry(ROOT / "schemas").subject("orders").versions[2].spec
    assert all(s.metadata is None for s in pandera_schemas(plain).values())
