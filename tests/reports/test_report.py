"""A whole drift report on the example data: engine verdicts, GX corroboration and pandera
failure cases together, rendered.

Great Expectations is slow to start, so each report is built once per module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from guard.config.settings import DriftThresholdSettings
from guard.contracts import load_registry
from guard.reports.drift import DriftReport, build_report
from guard.reports.write import write_report
from tests.fixtures.paths import REPO

DATA = REPO / "examples" / "data"
BASELINE = str(DATA / "orders-baseline.jsonl")


@dataclass
class Built:
    report: DriftReport
    out: Path


def _build(tmp: Path, current: str) -> Built:
    registry = load_registry(REPO / "schemas")
    report = build_report(
        registry,
        REPO / "schemas",
        "orders",
        None,
        [BASELINE],
        [str(DATA / current)],
        tmp,
        DriftThresholdSettings(),
    )
    write_report(report, tmp)
    return Built(report, tmp)


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return _build(tmp_path_factory.mktemp("drifted"), "orders-current-drifted.jsonl")


@pytest.fixture(scope="module")
def stable(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return _build(tmp_path_factory.mktemp("stable"), "orders-current-stable.jsonl")


class _Page(HTMLParser):
    """Collects what the tests look for: field sections, verdict rows, SVGs, links, scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.rows: dict[str, str] = {}
        self.svgs_in: dict[str, int] = {}
        self.external: list[str] = []
        self.scripts = 0
        self._section: str | None = None
        self.verdict: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" and a.get("class") == "field":
            self._section = a["data-field"]
            self.sections.append(a["data-field"] or "")
        if tag == "tr" and "data-status" in a:
            self.rows[a["data-field"] or ""] = a["data-status"] or ""
        if tag == "svg" and self._section:
            self.svgs_in[self._section] = self.svgs_in.get(self._section, 0) + 1
        if tag == "script":
            self.scripts += 1
        if tag == "span" and a.get("id") == "verdict":
            self.verdict = a.get("data-verdict")
        for key in ("src", "href"):
            value = a.get(key) or ""
            if value.startswith(("http:", "https:", "//")):
                self.external.append(value)


def _page(built: Built) -> _Page:
    page = _Page()
    page.feed((built.out / "report.html").read_text(encoding="utf-8"))
    return page


def test_the_html_has_a_section_a_plot_and_a_verdict_row_for_every_field(drifted: Built) -> None:
    page = _page(drifted)
    fields = [r.path for r in drifted.report.rows]
    assert fields[:4] == ["order_id", "customer_email", "amount", "currency"]
    assert "items" in fields and "shipping.country" in fields
    assert page.sections == fields
    assert list(page.rows) == fields
    assert all(page.svgs_in.get(f) == 1 for f in fields)


def test_the_html_is_self_contained(drifted: Built) -> None:
    page = _page(drifted)
    assert page.scripts == 0
    assert page.external == []


def test_the_drifted_data_drifts_where_it_was_changed(drifted: Built) -> None:
    page = _page(drifted)
    assert page.verdict == "drift"
    drifted_fields = {r.path for r in drifted.report.drifted_fields}
    assert {"amount", "currency", "channel", "coupon"} <= drifted_fields
    assert not {"order_id", "quantity", "created_at"} & drifted_fields
    assert page.rows["items"] == "contract"  # items[].qty breaks its minimum
    assert drifted.report.reasons == [
        "fields_drifted",
        "new_undeclared_fields",
        "contract_failures",
    ]


def test_the_per_field_contract_count_is_records_the_guard_rejects(drifted: Built) -> None:
    counts = {r.path: r.contract_records for r in drifted.report.rows}
    assert (counts["amount"], counts["items"]) == (5, 5)
    assert sum(counts.values()) == drifted.report.contract_rejected == 10


def test_the_stable_data_does_not_drift(stable: Built) -> None:
    assert (stable.report.drift, stable.report.reasons) == (False, [])
    assert _page(stable).verdict == "no_drift"
    assert set(_page(stable).rows.values()) == {"ok"}
    assert stable.report.fix is None


def test_pandera_failure_cases_point_at_records_without_their_values(drifted: Built) -> None:
    cases = drifted.report.contract.cases
    assert {(c.field, c.check) for c in cases} == {
        ("amount", "range(minimum 0, maximum 1000000)"),
        ("items[].qty", "range(minimum 1)"),
    }
    first = next(c for c in cases if c.field == "amount")
    assert first.origin == f"{DATA / 'orders-current-drifted.jsonl'}:8"
    assert all(c.value is None for c in cases)
    assert drifted.report.contract_rejected == 10


def test_great_expectations_corroborates_beside_the_verdict_without_deciding_it(
    drifted: Built, stable: Built
) -> None:
    gx = drifted.report.gx
    assert gx is not None
    index = drifted.out / "data_docs" / "index.html"
    assert gx.data_docs == index.resolve() and index.is_file()
    failed = {(r.column, r.expectation) for r in gx.results if not r.success}
    assert ("amount", "expect_column_quantile_values_to_be_between") in failed
    assert ("amount", "expect_column_values_to_be_between") in failed
    assert all(r.error is None for r in gx.results)
    amount = next(r for r in drifted.report.rows if r.path == "amount")
    assert amount.gx and {g.source for g in amount.gx} == {"contract", "engine"}
    # A GX expectation that fails on a field the engine finds stable does not drift it.
    for built in (drifted, stable):
        for row in built.report.rows:
            if row.verdict.state == "ok":
                assert row.status in {"ok", "contract"}


def test_the_json_report_matches_the_html(drifted: Built) -> None:
    doc = json.loads((drifted.out / "report.json").read_text(encoding="utf-8"))
    assert doc["verdict"] == "drift"
    assert [f["field"] for f in doc["fields"]] == _page(drifted).sections
    assert doc["great_expectations"]["data_docs"] == "data_docs/index.html"
    assert [u["field"] for u in doc["undeclared_fields"] if u["new"]] == ["gift_wrap"]
    amount = next(f for f in doc["fields"] if f["field"] == "amount")
    alert = amount["alerts"][0]
    assert alert["p_value"] < alert["significance_level"] <= doc["engine"]["family_wise_p_value"]
    assert alert["value"] >= alert["threshold"]  # the effect and its threshold, apart


def test_absent_and_null_are_counted_apart(drifted: Built) -> None:
    doc = json.loads((drifted.out / "report.json").read_text(encoding="utf-8"))
    coupon = next(f for f in doc["fields"] if f["field"] == "coupon")
    for side in ("baseline", "current"):
        s = coupon[side]
        assert s["absent"] + s["null"] + s["present"] == s["records"]
    assert coupon["baseline"]["absent"] > 0


def test_distinct_counts_never_exceed_the_values_counted(drifted: Built) -> None:
    doc = json.loads((drifted.out / "report.json").read_text(encoding="utf-8"))
    for f in doc["fields"]:
        for side in ("baseline", "current"):
            assert f[side]["distinct"] <= f[side]["present"]


def test_the_suggested_fix_passes_the_subjects_mode_or_says_why_there_is_none(
    drifted: Built,
) -> None:
    """orders v2 is open under BACKWARD, so declaring gift_wrap cannot pass: no version."""
    fix = drifted.report.fix
    assert fix is not None and fix.version is None and fix.mode == "BACKWARD"
    assert fix.why is not None and "gift_wrap" in fix.why
    text = (drifted.out / "report.md").read_text(encoding="utf-8")
    assert "### No contract version to suggest" in text


def test_the_markdown_summary_has_the_verdict_table(drifted: Built) -> None:
    text = (drifted.out / "report.md").read_text(encoding="utf-8")
    assert text.startswith("## ❌ Drift report: `orders` v2: **drift**")
    assert "| `amount` | value | ❌ drift |" in text
    assert "| `items` | length | ❌ contract |" in text


def test_plots_are_deterministic(drifted: Built) -> None:
    from guard.reports.plots import field_svg

    amount = next(r for r in drifted.report.rows if r.path == "amount")
    assert field_svg(amount, False) == field_svg(amount, False)


def test_too_few_current_records_is_insufficient_data_not_a_verdict(tmp_path: Path) -> None:
    lines = (DATA / "orders-current-stable.jsonl").read_text().splitlines()[:40]
    (tmp_path / "few.jsonl").write_text("\n".join(lines) + "\n")
    registry = load_registry(REPO / "schemas")
    report = build_report(
        registry,
        REPO / "schemas",
        "orders",
        None,
        [BASELINE],
        [str(tmp_path / "few.jsonl")],
        tmp_path / "out",
        DriftThresholdSettings(),
        great_expectations=False,
    )
    assert (report.verdict, report.drift) == ("insufficient_data", False)
    assert {r.status for r in report.rows} == {"insufficient data"}


def test_a_new_field_in_35_percent_of_60_current_records_is_reported(tmp_path: Path) -> None:
    lines = (DATA / "orders-current-stable.jsonl").read_text().splitlines()[:60]
    changed = []
    for i, line in enumerate(lines):
        record = json.loads(line)
        if i % 20 < 7:
            record["gift_wrap"] = True
        changed.append(json.dumps(record))
    (tmp_path / "few.jsonl").write_text("\n".join(changed) + "\n")
    registry = load_registry(REPO / "schemas")
    report = build_report(
        registry,
        REPO / "schemas",
        "orders",
        None,
        [BASELINE],
        [str(tmp_path / "few.jsonl")],
        tmp_path / "out",
        DriftThresholdSettings(),
        great_expectations=False,
    )
    assert report.verdict == "drift" and "new_undeclared_fields" in report.reasons
    [gift] = [u for u in report.undeclared if u.field == "gift_wrap"]
    assert (gift.state, gift.current_share) == ("drift", 0.35)
    [alert] = report.assessment.undeclared["gift_wrap"].alerts
    assert alert.detail["records"] == 21


def test_an_undeclared_field_that_vanished_makes_the_report_drift(tmp_path: Path) -> None:
    """The baseline has `gift_wrap` (undeclared, allowed) in 40% of its records, the current
    data has none: the engine flags `missing_field` (the stream alerts it), so the report
    drifts and `guard drift report` exits 1, not 0."""
    lines = (DATA / "orders-baseline.jsonl").read_text().splitlines()
    changed = []
    for i, line in enumerate(lines):
        record = json.loads(line)
        if i % 5 < 2:
            record["gift_wrap"] = True
        changed.append(json.dumps(record))
    (tmp_path / "base.jsonl").write_text("\n".join(changed) + "\n")
    registry = load_registry(REPO / "schemas")
    report = build_report(
        registry,
        REPO / "schemas",
        "orders",
        None,
        [str(tmp_path / "base.jsonl")],
        [str(DATA / "orders-current-stable.jsonl")],
        tmp_path / "out",
        DriftThresholdSettings(),
        great_expectations=False,
    )
    [gift] = [u for u in report.undeclared if u.field == "gift_wrap"]
    assert (gift.state, gift.new, gift.current_share) == ("drift", False, 0.0)
    assert [a.statistic for a in report.assessment.undeclared["gift_wrap"].alerts] == [
        "missing_field"
    ]
    assert report.drift and report.verdict == "drift"
    assert "vanished_undeclared_fields" in report.reasons


def test_a_new_key_in_every_record_makes_the_report_drift(tmp_path: Path) -> None:
    """Each current record carries an undeclared key of its own (`user_<i>`): the report
    said 'no drift' and exited 0."""
    lines = (DATA / "orders-current-stable.jsonl").read_text().splitlines()
    changed = []
    for i, line in enumerate(lines):
        record = json.loads(line)
        record[f"user_{i}"] = 1
        changed.append(json.dumps(record))
    (tmp_path / "keys.jsonl").write_text("\n".join(changed) + "\n")
    registry = load_registry(REPO / "schemas")
    report = build_report(
        registry,
        REPO / "schemas",
        "orders",
        None,
        [BASELINE],
        [str(tmp_path / "keys.jsonl")],
        tmp_path / "out",
        DriftThresholdSettings(),
        great_expectations=False,
    )
    assert report.drift and "new_undeclared_fields" in report.reasons
    [alert] = report.assessment.window.alerts
    assert alert.statistic == "new_fields" and alert.detail["records"] == len(lines)
