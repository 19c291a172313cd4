"""A whole drift report on the example data: GX, pandera and scipy together, rendered.

Great Expectations is slow to start, so each report is built once per module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from guard.contracts import load_registry
from guard.reports.drift import DriftReport, build_report
from guard.reports.stats import Thresholds
from guard.reports.write import write_report

REPO = Path(__file__).resolve().parents[2]
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
        Thresholds(),
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
    fields = [f.field for f in drifted.report.fields]
    assert fields[:4] == ["order_id", "customer_email", "amount", "currency"]
    assert "items[].qty" in fields and "shipping.country" in fields
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
    drifted_fields = {f.field for f in drifted.report.drifted_fields}
    assert {"amount", "currency", "channel", "coupon"} <= drifted_fields
    assert not {"order_id", "quantity", "created_at"} & drifted_fields
    assert page.rows["items[].qty"] == "contract"
    assert drifted.report.reasons == [
        "fields_drifted",
        "new_undeclared_fields",
        "contract_failures",
    ]


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
    assert drifted.report.guard_rejected == 10


def test_great_expectations_ran_the_suite_and_wrote_data_docs(drifted: Built) -> None:
    gx = drifted.report.gx
    assert gx is not None
    index = drifted.out / "data_docs" / "index.html"
    assert gx.data_docs == index.resolve() and index.is_file()
    pages = list((drifted.out / "data_docs" / "validations").rglob("*.html"))
    assert len(pages) == 2  # the records table and the items[] table
    failed = {(r.column, r.expectation) for r in gx.results if not r.success}
    assert ("amount", "expect_column_quantile_values_to_be_between") in failed
    assert ("amount", "expect_column_values_to_be_between") in failed
    assert all(r.error is None for r in gx.results)


def test_the_json_report_matches_the_html(drifted: Built) -> None:
    doc = json.loads((drifted.out / "report.json").read_text(encoding="utf-8"))
    assert doc["verdict"] == "drift"
    assert [f["field"] for f in doc["fields"]] == _page(drifted).sections
    assert doc["great_expectations"]["data_docs"] == "data_docs/index.html"
    assert [u["field"] for u in doc["undeclared_fields"] if u["new"]] == ["gift_wrap"]
    assert doc["suggested_fix"]["version"] == 3


def test_the_markdown_summary_has_the_verdict_table_and_the_fix(drifted: Built) -> None:
    text = (drifted.out / "report.md").read_text(encoding="utf-8")
    assert text.startswith("## ❌ Drift report: `orders` v2: **drift**")
    assert "| `amount` | numeric | ❌ drift |" in text
    assert "| `items[].qty` | numeric | ❌ contract |" in text
    assert "+ gift_wrap: boolean, optional" in text


def test_plots_are_deterministic(drifted: Built) -> None:
    from guard.reports.plots import field_svg

    amount = next(f for f in drifted.report.fields if f.field == "amount")
    assert field_svg(amount) == field_svg(amount)


NESTED = """subject: ev
version: 1
unknown_fields: reject
fields:
  id: {type: integer}
  tags: {type: array, required: false, items: {type: string, enum: [a, b, c]}}
  grid: {type: array, required: false, items: {type: array, items: {type: number}}}
"""


def test_nested_arrays_get_one_validated_table_each(tmp_path: Path) -> None:
    import random

    (tmp_path / "schemas" / "ev").mkdir(parents=True)
    (tmp_path / "schemas" / "ev" / "v1.yaml").write_text(NESTED)
    rng = random.Random(1)

    def rec(i: int) -> str:
        tags = [rng.choice("abc") for _ in range(rng.randint(0, 3))]
        return json.dumps({"id": i % 50, "tags": tags, "grid": [[rng.random(), rng.random()]]})

    (tmp_path / "b.jsonl").write_text("\n".join(rec(i) for i in range(300)))
    (tmp_path / "c.jsonl").write_text(
        "\n".join(rec(i) for i in range(100)) + '\n{"id": 1, "x": 2}\n'
    )
    registry = load_registry(tmp_path / "schemas")
    report = build_report(
        registry,
        tmp_path / "schemas",
        "ev",
        None,
        [str(tmp_path / "b.jsonl")],
        [str(tmp_path / "c.jsonl")],
        tmp_path / "out",
        Thresholds(),
    )
    assert report.gx is not None
    assert {r.table for r in report.gx.results} == {"", "tags[]", "grid[]", "grid[][]"}
    assert report.drifted_fields == []  # sizes are discrete: quantiles move by whole steps
    assert [(c.field, c.check) for c in report.contract.cases] == [("x", "undeclared_field")]
    assert report.reasons == ["new_undeclared_fields", "contract_failures"]
