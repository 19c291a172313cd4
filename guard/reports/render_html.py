"""report.html: one self-contained page (inline CSS and SVG; no scripts, no network)."""

from __future__ import annotations

from html import escape
from typing import Any

from guard.reports.drift import DriftReport
from guard.reports.gx_suite import GxResult
from guard.reports.stats import FieldDrift

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;padding:0 1rem;color:#1f2328}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top;
overflow-wrap:anywhere}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:.1rem .6rem;border-radius:1rem;font-weight:600}
.drift{background:#ffebe9;color:#a40e26}.ok{background:#dafbe1;color:#116329}
section.field{border:1px solid #d0d7de;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
section.field h3{margin:.2rem 0}svg{max-width:100%;height:auto}
code,pre{background:#f6f8fa;border-radius:4px}pre{padding:.6rem;overflow:auto}
.muted{color:#59636e}
"""


def render_html(report: DriftReport, data: dict[str, Any]) -> str:
    """`data` is `report.to_json(out_dir)`, computed once by the caller."""
    verdict = "DRIFT" if report.drift else "NO DRIFT"
    title = f"Drift report: {report.subject} v{report.version}"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p><span class="badge {"drift" if report.drift else "ok"}" id="verdict" '
        f'data-verdict="{"drift" if report.drift else "no_drift"}">{verdict}</span> '
        f"{escape(', '.join(report.reasons) or 'every check passed')}</p>",
        _summary(report, data),
        _verdict_table(report),
        _undeclared(report),
        _contract(report),
        _gx(report, data),
        _fix(report),
        '<section id="fields"><h2>Fields</h2>',
        *(_field(report, d) for d in report.fields),
        "</section>",
        _thresholds(data),
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def _summary(report: DriftReport, data: dict[str, Any]) -> str:
    b, c = data["baseline"], data["current"]
    rows = [
        ("baseline", ", ".join(b["files"]), b["records"], b["unreadable"]),
        ("current", ", ".join(c["files"]), c["records"], c["unreadable"]),
    ]
    body = "".join(
        f"<tr><th>{name}</th><td>{escape(files)}</td><td class=num>{n}</td>"
        f"<td class=num>{bad}</td></tr>"
        for name, files, n, bad in rows
    )
    drifted = len(report.drifted_fields)
    return (
        '<section id="summary"><h2>Summary</h2>'
        "<table><tr><th></th><th>files</th><th>records</th><th>unreadable lines</th></tr>"
        f"{body}</table>"
        f"<p>{drifted} of {len(report.fields)} fields drifted; "
        f"{report.contract.total} contract failure cases (pandera); "
        f"{report.guard_rejected} current records the guard would quarantine.</p></section>"
    )


def _verdict_table(report: DriftReport) -> str:
    head = (
        "<tr><th>field</th><th>kind</th><th>verdict</th><th>missing (base → current)</th>"
        "<th>test</th><th>p-value</th><th>distance</th><th>GX</th><th>contract</th>"
        "<th>why</th></tr>"
    )
    rows = []
    for d in report.fields:
        gx = report.gx_for(d.field)
        gx_text = f"{sum(r.success for r in gx)}/{len(gx)}" if gx else "-"
        status = report.status(d)
        kind = d.kind if d.measure in {"value", "presence"} else f"{d.kind} ({d.measure})"
        rows.append(
            f'<tr data-field="{escape(d.field)}" data-status="{status}">'
            f'<td><a href="#{_anchor(d.field)}"><code>{escape(d.field)}</code></a></td>'
            f"<td>{kind}</td>"
            f'<td><span class="badge {"ok" if status == "ok" else "drift"}">{status}</span></td>'
            f"<td class=num>{_pct(d.baseline.null_rate)} → {_pct(d.current.null_rate)}</td>"
            f"<td>{d.test or '-'}</td><td class=num>{_num(d.p_value)}</td>"
            f"<td class=num>{_num(d.distance)}</td><td class=num>{gx_text}</td>"
            f"<td class=num>{report.contract_failures(d.field)}</td>"
            f"<td>{escape(', '.join(d.reasons))}</td></tr>"
        )
    return (
        f'<section id="verdicts"><h2>Verdict by field</h2><table class="verdicts">{head}'
        f"{''.join(rows)}</table></section>"
    )


def _field(report: DriftReport, d: FieldDrift) -> str:
    base, cur = d.baseline.summary(d.kind), d.current.summary(d.kind)
    keys = [k for k in _STAT_KEYS if k in base or k in cur]
    head = "".join(f"<th>{k.replace('_', ' ')}</th>" for k in keys)
    stats = "".join(
        f"<tr><th>{name}</th>"
        + "".join(f"<td class=num>{escape(_cell(side.get(k)))}</td>" for k in keys)
        + "</tr>"
        for name, side in (("baseline", base), ("current", cur))
    )
    extra = ""
    if d.new_values:
        extra += f"<p>values not in the baseline: {escape(', '.join(d.new_values[:20]))}</p>"
    if d.missing_values:
        extra += f"<p>baseline values not seen now: {escape(', '.join(d.missing_values[:20]))}</p>"
    return (
        f'<section class="field" id="{_anchor(d.field)}" data-field="{escape(d.field)}">'
        f"<h3><code>{escape(d.field)}</code> <span class=muted>{d.type}, compared as {d.kind}"
        f" ({d.measure})</span></h3>"
        f'<div class="plot">{report.plots.get(d.field, "")}</div>'
        f'<table class="stats"><tr><th></th>{head}</tr>{stats}</table>{extra}'
        f"{_gx_list(report.gx_for(d.field))}</section>"
    )


_STAT_KEYS = ("rows", "missing", "null_rate", "wrong_type", "mean", "std", "min", "median", "max")


def _gx_list(results: list[GxResult]) -> str:
    if not results:
        return ""
    items = "".join(
        f"<li>{'✔' if r.success else '✘'} <code>{escape(r.expectation)}</code> "
        f"<span class=muted>({r.source}; observed {escape(_cell(r.observed))})</span></li>"
        for r in results
    )
    return f"<p>Great Expectations:</p><ul>{items}</ul>"


def _undeclared(report: DriftReport) -> str:
    if not report.undeclared:
        return ""
    rows = "".join(
        f'<tr data-field="{escape(u.field)}"><td><code>{escape(u.field)}</code></td>'
        f"<td>{u.policy}</td><td class=num>{_pct(u.baseline_share)}</td>"
        f"<td class=num>{_pct(u.current_share)}</td><td>{'new' if u.new else ''}</td></tr>"
        for u in report.undeclared
    )
    return (
        '<section id="undeclared"><h2>Undeclared fields</h2><table><tr><th>field</th>'
        "<th>unknown_fields</th><th>baseline</th><th>current</th><th></th></tr>"
        f"{rows}</table></section>"
    )


def _contract(report: DriftReport) -> str:
    c = report.contract
    counts = "".join(
        f"<tr><td><code>{escape(f)}</code></td><td><code>{escape(chk)}</code></td>"
        f"<td class=num>{n}</td></tr>"
        for (f, chk), n in c.by_check.most_common()
    )
    cases = "".join(
        f"<tr><td><code>{escape(x.field)}</code></td><td><code>{escape(x.check)}</code></td>"
        f"<td>{escape(x.origin or '')}</td><td>{escape(x.value or '(hidden)')}</td></tr>"
        for x in c.cases[:200]
    )
    reasons = ", ".join(f"{k} {v}" for k, v in report.guard_reasons.most_common()) or "none"
    body = (
        f"<p>pandera: {c.total} failure cases. The guard would quarantine "
        f"{report.guard_rejected} current records (reasons: {escape(reasons)}).</p>"
    )
    if counts:
        body += (
            f"<table><tr><th>field</th><th>check</th><th>cases</th></tr>{counts}</table>"
            "<table><tr><th>field</th><th>check</th><th>where</th><th>value</th></tr>"
            f"{cases}</table>"
        )
    return f'<section id="contract"><h2>Contract failures</h2>{body}</section>'


def _gx(report: DriftReport, data: dict[str, Any]) -> str:
    gx = data["great_expectations"]
    if gx is None:
        return ""
    docs = escape(gx["data_docs"])
    return (
        '<section id="gx"><h2>Great Expectations</h2>'
        f"<p>{gx['successful']} of {gx['evaluated']} expectations met. "
        f'Data Docs: <a href="{docs}">{docs}</a> (they load GX\'s own styles from the web).</p>'
        "</section>"
    )


def _fix(report: DriftReport) -> str:
    fix = report.fix
    if fix is None:
        return ""
    breaks = "".join(
        f"<li><code>{escape(b.field)}</code> ({b.direction}, {escape(b.rule)}): "
        f"{escape(b.why)}</li>"
        for b in fix.breaks
    )
    notes = "".join(
        f"<li><code>{escape(p.field)}</code> {escape(p.change)}: {escape(p.detail)}</li>"
        for p in fix.not_applied
    )
    if fix.version is None or fix.yaml is None or fix.diff is None:
        return (
            '<section id="suggestion"><h2>No contract change to suggest</h2>'
            f"<p>Not applied:</p><ul>{notes}</ul></section>"
        )
    return (
        f'<section id="suggestion"><h2>Suggested contract v{fix.version}</h2>'
        f"<pre>{escape(fix.diff)}</pre>"
        + (
            f"<p>Under {fix.mode} this version would break:</p><ul>{breaks}</ul>"
            if breaks
            else f"<p>Compatible under {fix.mode}.</p>"
        )
        + (f"<p>Not applied:</p><ul>{notes}</ul>" if notes else "")
        + f"<details><summary>v{fix.version}.yaml</summary><pre>{escape(fix.yaml)}</pre>"
        "</details></section>"
    )


def _thresholds(data: dict[str, Any]) -> str:
    items = ", ".join(f"{k} {v}" for k, v in data["thresholds"].items())
    return f'<p class="muted" id="thresholds">Thresholds: {escape(items)}</p>'


def _anchor(name: str) -> str:
    return "field-" + "".join(ch if ch.isalnum() else f"_{ord(ch):x}" for ch in name)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.3g}"


def _cell(x: object) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)
