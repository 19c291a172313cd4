"""Write a quarantine report: report.json (the data), report.md (for a ticket or a job
summary) and report.html (one self-contained page: inline CSS and SVG, no script, nothing
fetched), with links between its sections: a reason or a field in one table jumps to its row
in another, and the replay plan's still-failing reasons link to the reasons table.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from guard.quarantine.report import DIMENSIONS, QuarantineAggregate
from guard.quarantine.svg import stacked_bars

TOP_ROWS = 50  # rows per table in report.html (report.json has every kept key)
MD_ROWS = 15
TITLES = {
    "reason": "Reasons",
    "field": "Fields",
    "version": "Contract versions",
    "partition": "Source partitions",
}


@dataclass
class SourceReport:
    aggregate: QuarantineAggregate
    # ReplayReport.to_json() of a dry run (guard.replay), None when no contracts were loaded
    plan: dict[str, Any] | None


@dataclass
class QuarantineReport:
    sources: list[SourceReport]
    generated_at: str
    filters: dict[str, Any]
    expose_values: bool

    @property
    def records(self) -> int:
        return sum(s.aggregate.total for s in self.sources)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "ingest-guard quarantine report",
            "version": 1,
            "generated_at": self.generated_at,
            "filters": self.filters,
            "expose_values": self.expose_values,
            "records": self.records,
            "sources": [
                {
                    **s.aggregate.to_json(),
                    "replay_plan": s.plan,
                }
                for s in self.sources
            ],
        }


@dataclass
class Written:
    html: Path
    markdown: Path
    json: Path


def write(report: QuarantineReport, out_dir: Path) -> Written:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = Written(out_dir / "report.html", out_dir / "report.md", out_dir / "report.json")
    data = report.to_json()
    written.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    written.markdown.write_text(render_md(report, data), encoding="utf-8")
    written.html.write_text(render_html(report, data), encoding="utf-8")
    return written


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- HTML --------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;color:#1f2328;max-width:1100px}
h1{font-size:1.5rem}h2{font-size:1.2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem;
margin-top:2rem}h3{font-size:1rem}
nav a{margin-right:.8rem}nav{position:sticky;top:0;background:#fff;padding:.4rem 0;
border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.2rem .5rem;
text-align:left;vertical-align:top}th{background:#f6f8fa}td.n{text-align:right;
font-variant-numeric:tabular-nums}
.chart text{font:10px sans-serif;fill:#555}.legend .key{margin-right:.8rem;white-space:nowrap}
.legend i{display:inline-block;width:10px;height:10px;margin-right:3px}
.muted,.empty{color:#57606a}code{background:#f6f8fa;padding:0 .2rem}
tr:target{background:#fff8c5}
"""


def render_html(report: QuarantineReport, data: dict[str, Any]) -> str:
    body: list[str] = []
    nav: list[str] = []
    for i, (source, sdata) in enumerate(zip(report.sources, data["sources"], strict=True)):
        p = f"s{i}-"
        nav.append(
            f'<a href="#{p}summary">{escape(source.aggregate.source)}</a>'
            + "".join(
                f'<a href="#{p}{anchor}">{title}</a>'
                for anchor, title in (
                    ("time", "Over time"),
                    *((f"{d}s", TITLES[d]) for d in DIMENSIONS),
                    ("field-details", "Failing fields"),
                    ("producers", "Producers"),
                    ("replay", "Replay plan"),
                )
            )
        )
        body.append(_source_html(p, source, sdata, report.expose_values))
    filters = ", ".join(f"{k}={v}" for k, v in report.filters.items() if v) or "none"
    values = "record values shown (expose_values)" if report.expose_values else "no record values"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>Quarantine report</title>"
        f"<style>{_CSS}</style></head><body>"
        "<h1>Quarantine report</h1>"
        f'<p class="muted">generated {escape(report.generated_at)} · filters: '
        f"{escape(filters)} · {values} · "
        f'<span id="total-records" data-metric="records">{report.records}</span> records</p>'
        f"<nav>{'<br>'.join(nav)}</nav>" + "".join(body) + "</body></html>\n"
    )


def _source_html(p: str, source: SourceReport, data: dict[str, Any], expose: bool) -> str:
    agg = source.aggregate
    out = [
        f'<section id="{p}summary" data-source="{escape(agg.source)}">',
        f"<h2>{escape(agg.source)}</h2>",
        "<table>",
        _metric_row(p, "records", "quarantined records in the report", agg.total),
        _metric_row(p, "unreadable", "without a readable envelope", agg.unreadable),
        _metric_row(p, "handled", "already handled by replays (not counted)", agg.handled),
        _metric_row(p, "filtered", "left out by the filters", agg.filtered),
        f"<tr><th>first / last quarantined</th><td>{escape(str(data['first_quarantined_at']))}"
        f" / {escape(str(data['last_quarantined_at']))}</td></tr>",
        "<tr><th>subjects</th><td>"
        + ", ".join(f"{escape(k)} ({v})" for k, v in data["by_subject"].items())
        + "</td></tr></table></section>",
    ]
    width = agg.bucket_seconds()
    starts, total = agg.series(None)
    out.append(
        f'<section id="{p}time"><h2>Over time</h2>'
        f'<p class="muted">records per {_width_text(width)} bucket (UTC)</p>'
        + stacked_bars(starts, total, width)
        + "<h3>by reason</h3>"
        + stacked_bars(*agg.series("reason"), width)
        + "</section>"
    )
    for dim in DIMENSIONS:
        out.append(_dimension_html(p, dim, agg, data, width))
    out.append(_fields_html(p, data, expose))
    out.append(_producers_html(p, data))
    out.append(_replay_html(p, source.plan))
    return "".join(out)


def _metric_row(p: str, name: str, label: str, value: int) -> str:
    return (
        f'<tr><th>{escape(label)}</th><td class="n" id="{p}{name}" data-metric="{name}">'
        f"{value}</td></tr>"
    )


def _dimension_html(
    p: str, dim: str, agg: QuarantineAggregate, data: dict[str, Any], width: int
) -> str:
    counts: dict[str, int] = data[f"by_{dim}"]
    rows = []
    for key, n in list(counts.items())[:TOP_ROWS]:
        name = escape(key)
        if dim == "field":
            name = f'<a href="#{p}detail-{_slug(key)}">{name}</a>'
        share = n / agg.total if agg.total else 0.0
        rows.append(
            f'<tr id="{p}{dim}-{_slug(key)}" data-{dim}="{escape(key)}"><td>{name}</td>'
            f'<td class="n" data-count="{n}">{n}</td><td class="n">{share:.1%}</td></tr>'
        )
    more = len(counts) - TOP_ROWS
    note = f'<p class="muted">{more} more in report.json</p>' if more > 0 else ""
    chart = stacked_bars(*agg.series(dim), width) if dim != "reason" else ""
    per = "a record counts once per value it carries" if dim in ("reason", "field") else ""
    return (
        f'<section id="{p}{dim}s"><h2>{TITLES[dim]}</h2>'
        + (f'<p class="muted">{per}</p>' if per else "")
        + chart
        + f"<table><tr><th>{dim}</th><th>records</th><th>share</th></tr>{''.join(rows)}</table>"
        + note
        + "</section>"
    )


def _fields_html(p: str, data: dict[str, Any], expose: bool) -> str:
    rows = []
    for name, detail in list(data["fields"].items())[:TOP_ROWS]:
        checks = ", ".join(
            f'<a href="#{p}reason-{_slug(code)}"><code>{escape(code)}</code></a> ({n})'
            for code, n in detail["checks"].items()
        )
        examples = "".join(
            f"<li><code>{escape(e['location'])}</code> <code>{escape(e['code'])}</code>: "
            f"{escape(e['message'])}"
            + (
                f" — value <code>{escape(str(e.get('value', '')))}</code>"
                f" — record <code>{escape(str(e.get('record_value', '')))}</code>"
                if expose
                else ""
            )
            + "</li>"
            for e in detail["examples"]
        )
        rows.append(
            f'<tr id="{p}detail-{_slug(name)}"><td><code>{escape(name)}</code></td>'
            f'<td class="n">{detail["records"]}</td><td>{checks}</td><td><ul>{examples}</ul>'
            "</td></tr>"
        )
    return (
        f'<section id="{p}field-details"><h2>Top failing fields</h2>'
        "<table><tr><th>field</th><th>records</th><th>checks (reason codes)</th>"
        f"<th>example errors</th></tr>{''.join(rows)}</table></section>"
    )


def _producers_html(p: str, data: dict[str, Any]) -> str:
    producers = data["producers"]
    if producers["identified_by"] is None:
        return (
            f'<section id="{p}producers"><h2>Producers</h2><p class="muted">not identified: '
            "pass <code>--producer-header NAME</code> or <code>--key-prefix SEP</code></p>"
            "</section>"
        )
    totals = any(r["sent"] is not None for r in producers["ranking"])
    rows = "".join(_producer_row(p, r, totals) for r in producers["ranking"][:TOP_ROWS])
    ranked_by = (
        "quarantine rate (quarantined / records sent to the source topics)"
        if totals
        else "quarantined records per hour over the report's span (--producer-totals ranks by "
        "quarantined / sent)"
    )
    sent_head = "<th>sent</th><th>quarantine rate</th>" if totals else ""
    return (
        f'<section id="{p}producers"><h2>Producers</h2>'
        f'<p class="muted">identified by {escape(producers["identified_by"])}; ranked by '
        f"{ranked_by}; {producers['unidentified']} records name no producer</p>"
        f"<table><tr><th>producer</th><th>quarantined</th>{sent_head}"
        "<th>share of the quarantine</th><th>per hour</th>"
        f"<th>top reasons</th></tr>{rows}</table></section>"
    )


def _producer_row(p: str, r: dict[str, Any], totals: bool) -> str:
    sent = (
        f'<td class="n">{r["sent"]}</td><td class="n">{r["quarantine_rate"]:.1%}</td>'
        if totals
        else ""
    )
    reasons = ", ".join(
        f'<a href="#{p}reason-{_slug(k)}">{escape(k)}</a> ({v})'
        for k, v in r["top_reasons"].items()
    )
    return (
        f'<tr data-producer="{escape(r["producer"])}"><td>{escape(r["producer"])}</td>'
        f'<td class="n">{r["records"]}</td>{sent}<td class="n">{r["share"]:.1%}</td>'
        f'<td class="n">{r["per_hour"]}</td><td>{reasons}</td></tr>'
    )


def _replay_html(p: str, plan: dict[str, Any] | None) -> str:
    if plan is None:
        return (
            f'<section id="{p}replay"><h2>Replay plan</h2><p class="muted">no contracts '
            "loaded: pass --config or --schemas-dir</p></section>"
        )
    data = plan
    failing = "".join(
        f'<tr><td><a href="#{p}reason-{_slug(k)}">{escape(k)}</a></td><td class="n">{v}</td></tr>'
        for k, v in data["still_failing_by_reason"].items()
    )
    skipped = "".join(
        f'<tr><td>{escape(k)}</td><td class="n">{v}</td></tr>' for k, v in data["skipped"].items()
    )
    return (
        f'<section id="{p}replay"><h2>Replay plan</h2>'
        f'<p class="muted">what <code>guard replay --dry-run</code> would do now, to '
        f"{escape(str(plan['target']))}</p><table>"
        f'<tr><th>would pass</th><td class="n" id="{p}replay-pass">{plan["passed"]}</td></tr>'
        f'<tr><th>would still fail</th><td class="n" id="{p}replay-fail">{plan["still_failing"]}'
        "</td></tr></table>"
        + (f"<h3>still failing, by reason</h3><table>{failing}</table>" if failing else "")
        + (f"<h3>skipped</h3><table>{skipped}</table>" if skipped else "")
        + "</section>"
    )


def _slug(text: str) -> str:
    """An id fragment for `text`, one per text: where characters had to be replaced (`a b`,
    `a/b`, `(record)` beside a field named `record`), a hash of the text keeps ids apart."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "x"
    if slug == text:
        return slug
    return f"{slug}-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def _width_text(seconds: int) -> str:
    for size, name in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds % size == 0:
            n = seconds // size
            return f"{n}-{name}" if n > 1 else name
    return f"{seconds}-second"


# -- Markdown ----------------------------------------------------------------------------------


def render_md(report: QuarantineReport, data: dict[str, Any]) -> str:
    lines = [
        "# Quarantine report",
        "",
        f"Generated {report.generated_at}; {report.records} records"
        + ("; record values shown (expose_values)" if report.expose_values else "")
        + ".",
    ]
    for source, sdata in zip(report.sources, data["sources"], strict=True):
        agg = source.aggregate
        lines += [
            "",
            f"## {_md(agg.source)}",
            "",
            f"- quarantined records: **{agg.total}** ({sdata['first_quarantined_at']} to "
            f"{sdata['last_quarantined_at']})",
            f"- unreadable: {agg.unreadable}; handled by replays: {agg.handled}; "
            f"filtered out: {agg.filtered}",
        ]
        for dim in DIMENSIONS:
            lines += ["", f"### {TITLES[dim]}", "", f"| {dim} | records |", "|---|---:|"]
            lines += [f"| {_md(k)} | {v} |" for k, v in list(sdata[f"by_{dim}"].items())[:MD_ROWS]]
        lines += ["", "### Top failing fields", "", "| field | records | checks | example |"]
        lines.append("|---|---:|---|---|")
        for name, d in list(sdata["fields"].items())[:MD_ROWS]:
            checks = ", ".join(f"{_code(c)} ({n})" for c, n in d["checks"].items())
            example = d["examples"][0]["message"] if d["examples"] else ""
            lines.append(f"| {_code(name)} | {d['records']} | {checks} | {_md(example)} |")
        ranking = sdata["producers"]["ranking"]
        if ranking:
            lines += ["", "### Producers", ""]
            lines.append("| producer | quarantined | sent | quarantine rate | per hour |")
            lines.append("|---|---:|---:|---:|---:|")
            lines += [
                f"| {_md(r['producer'])} | {r['records']} | {_dash(r['sent'])} | "
                f"{_dash(r['quarantine_rate'])} | {r['per_hour']} |"
                for r in ranking[:MD_ROWS]
            ]
        if source.plan is not None:
            plan = source.plan
            lines += [
                "",
                "### Replay plan",
                "",
                f"`guard replay --dry-run`: {plan['passed']} would pass, "
                f"{plan['still_failing']} would still fail"
                + "".join(f"; {k}: {v}" for k, v in plan["still_failing_by_reason"].items())
                + "".join(f"; skipped {k}: {v}" for k, v in plan["skipped"].items()),
            ]
    return "\n".join(lines) + "\n"


# Field names (undeclared ones are the producer's JSON keys), producer names (a header or a
# key prefix) and messages are data: every ASCII punctuation mark that could start markup
# (HTML, an entity, a link or image, code, emphasis, a table cell) is backslash-escaped, so a
# renderer shows the text as written. (`_` is left alone: field names are full of it, and
# inside a word it emphasises nothing.)
_MD_MARKUP = re.compile(r"([\\`*{}\[\]()<>#!|~&])")


def _md(text: str) -> str:
    """`text` as plain text in a Markdown (GFM) table cell or heading."""
    return _MD_MARKUP.sub(r"\\\1", " ".join(text.splitlines()))


def _code(text: str) -> str:
    """`text` in a code span (no markup inside one): a fence longer than any run of
    backticks in it, and `|` escaped, which GFM tables need even there."""
    text = " ".join(text.splitlines()).replace("|", "\\|")
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _dash(value: object) -> str:
    return "-" if value is None else str(value)
