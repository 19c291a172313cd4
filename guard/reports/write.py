"""Write a drift report's files: report.html, report.md and report.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from guard.reports.drift import DriftReport
from guard.reports.plots import field_svg
from guard.reports.render_html import render_html
from guard.reports.render_md import render_markdown


@dataclass(frozen=True)
class Written:
    html: Path
    markdown: Path
    json: Path


def write_report(report: DriftReport, out_dir: Path) -> Written:
    expose = report.plan.expose_values
    report.plots = {r.path: field_svg(r, expose) for r in report.rows}
    written = Written(out_dir / "report.html", out_dir / "report.md", out_dir / "report.json")
    data = report.to_json(out_dir)  # already JSON-safe (non-finite numbers as None)
    written.html.write_text(render_html(report, data), encoding="utf-8")
    written.markdown.write_text(render_markdown(report, data), encoding="utf-8")
    text = json.dumps(data, indent=2, allow_nan=False)
    written.json.write_text(text + "\n", encoding="utf-8")
    return written
