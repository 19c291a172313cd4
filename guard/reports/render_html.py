"""report.html: one self-contained page (inline CSS and SVG; no scripts, no network)."""

from __future__ import annotations

from html import escape
from typing import Any

from guard.reports.drift import DriftReport
from guard.reports.rules_section import rules_html

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
.insufficient{background:#fff8c5;color:#7d4e00}
section.field{border:1px solid #d0d7de;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
section.field h3{margin:.2rem 0}svg{max-width:100%;height:auto}
code,pre{background:#f6f8fa;border-radius:4px}pre{padding:.6rem;overflow:auto}
.muted{color:#59636e}
"""
_BADGE = {"drift": "drift", "contract": "drift", "ok": "ok", "insufficient data": "insufficient"}


def render_html(report: DriftReport, data: dict[str, Any]) -> str:
    """`data` is `report.to_json(out_dir)`, computed once by the caller."""
    verdict = data["verdict"]
    title = f"Drift report: {report.subject} v{report.version}"
    badge = {"drift": "drift", "no_drift": "ok"}.get(verdict, "insufficient")
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p><span class="badge {badge}" id="verdict" data-verdict="{verdict}">'
        f"{verdict.replace('_', ' ').upper()}</span> "
        f"{escape(', '.join(report.reasons) or 'every check passed')}</p>",
        _summary(report, data),
        _verdict_table(data),
        _window(data),
        _undeclared(data),
        _contract(report, data),
        rules_html(data["contract"]["rules"]),
        _gx(data),
        _fix(report),
        '<section id="fields"><h2>Fields</h2>',
        *(_field(report, row) for row in data["fields"]),
        "</section>",
        _thresholds(data),
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def _summary(report: DriftReport, data: dict[str, Any]) -> str:
    b, c, e = data["baseline"], data["current"], data["engine"]
    rows = "".join(
        f"<tr><th>{name}</th><td>{escape(', '.join(side['files']))}</td>"
        f"<td class=num>{side['records']}</td><td class=num>{side['unreadable']}</td></tr>"
        for name, side in (("baseline", b), ("current", c))
    )
    drifted = len(report.drifted_fields)
    return (
        '<section id="summary"><h2>Summary</h2>'
        "<table><tr><th></th><th>files</th><th>records</th><th>unreadable lines</th></tr>"
        f"{rows}</table>"
        f"<p>{drifted} of {len(report.rows)} fields drifted. {e['tests']} tests, corrected "
        f"together (Holm) to a family-wise significance of {e['family_wise_p_value']}; "
        f"a drift also needs an effect over its threshold. The guard would quarantine "
        f"{report.contract_rejected} current records.</p></section>"
    )


def _verdict_table(data: dict[str, Any]) -> str:
    head = (
        "<tr><th>field</th><th>compared by</th><th>verdict</th><th>absent (base → current)</th>"
        "<th>null (base → current)</th><th>smallest p-value</th><th>its level</th>"
        "<th>effects</th><th>GX (corroboration)</th><th>contract</th><th>why</th></tr>"
    )
    rows = []
    for f in data["fields"]:
        b, c = f["baseline"], f["current"]
        best = min(
            f["tests"], key=lambda t: t["p_value"] if t["p_value"] is not None else 2, default=None
        )
        effects = ", ".join(
            f"{k} {_num(v)}"
            for t in f["tests"]
            for k, v in t["effects"].items()
            if t["aspect"] in {"distribution", "categories"}
        )
        gx = f["gx"]
        gx_text = f"{sum(g['success'] for g in gx)}/{len(gx)} met" if gx else "-"
        why = [a["statistic"] for a in f["alerts"]] + [
            f"too few values: {x}" for x in f["insufficient"]
        ]
        rows.append(
            f'<tr data-field="{escape(f["field"])}" data-status="{f["status"]}">'
            f'<td><a href="#{_anchor(f["field"])}"><code>{escape(f["field"])}</code></a></td>'
            f"<td>{f['compared_by']}</td>"
            f'<td><span class="badge {_BADGE[f["status"]]}">{f["status"]}</span></td>'
            f"<td class=num>{_pct(b['absent_rate'])} → {_pct(c['absent_rate'])}</td>"
            f"<td class=num>{_pct(b['null_rate'])} → {_pct(c['null_rate'])}</td>"
            f"<td class=num>{_num(best['p_value']) if best else '-'}</td>"
            f"<td class=num>{_num(best['significance_level']) if best else '-'}</td>"
            f"<td>{escape(effects) or '-'}</td><td class=num>{gx_text}</td>"
            f"<td class=num>{f['contract_records']}</td><td>{escape(', '.join(why))}</td></tr>"
        )
    return (
        f'<section id="verdicts"><h2>Verdict by field</h2><table class="verdicts">{head}'
        f"{''.join(rows)}</table></section>"
    )


def _alerts_table(alerts: list[dict[str, Any]]) -> str:
    if not alerts:
        return ""
    rows = "".join(
        f"<tr><td>{escape(a['statistic'])}</td><td class=num>{_num(a['value'])}</td>"
        f"<td class=num>{_num(a['threshold'])}</td><td class=num>{_num(a['baseline_value'])}</td>"
        f"<td class=num>{_num(a['current_value'])}</td><td class=num>{_num(a['p_value'])}</td>"
        f"<td class=num>{_num(a['significance_level'])}</td></tr>"
        for a in alerts
    )
    return (
        "<table class=alerts><tr><th>statistic</th><th>value</th><th>threshold</th>"
        "<th>baseline</th><th>current</th><th>p-value</th><th>significance level</th></tr>"
        f"{rows}</table>"
    )


def _window(data: dict[str, Any]) -> str:
    alerts = data["window"]["alerts"]
    if not alerts:
        return ""
    return f'<section id="window"><h2>Whole-input checks</h2>{_alerts_table(alerts)}</section>'


def _field(report: DriftReport, f: dict[str, Any]) -> str:
    keys = [k for k in _STAT_KEYS if k in f["baseline"] or k in f["current"]]
    head = "".join(f"<th>{k.replace('_', ' ')}</th>" for k in keys)
    stats = "".join(
        f"<tr><th>{name}</th>"
        + "".join(f"<td class=num>{escape(_cell(side.get(k)))}</td>" for k in keys)
        + "</tr>"
        for name, side in (("baseline", f["baseline"]), ("current", f["current"]))
    )
    shares = ""
    if "shares" in f["current"] or "shares" in f["baseline"]:
        b, c = f["baseline"].get("shares", {}), f["current"].get("shares", {})
        labels = list(dict.fromkeys([*b, *c]))
        shares = (
            "<table class=shares><tr><th>value</th><th>baseline</th><th>current</th></tr>"
            + "".join(
                f"<tr><td><code>{escape(k)}</code></td><td class=num>{_pct(b.get(k))}</td>"
                f"<td class=num>{_pct(c.get(k))}</td></tr>"
                for k in labels
            )
            + "</table>"
        )
    tests = "".join(
        f"<tr><td>{t['aspect']}</td><td class=num>{_num(t['p_value'])}</td>"
        f"<td class=num>{_num(t['significance_level'])}</td>"
        f"<td>{'yes' if t['significant'] else 'no'}</td>"
        f"<td>{escape(', '.join(f'{k} {_num(v)}' for k, v in t['effects'].items()))}</td></tr>"
        for t in f["tests"]
    )
    tests_html = (
        "<table class=tests><tr><th>test</th><th>p-value</th><th>significance level</th>"
        f"<th>significant</th><th>effects</th></tr>{tests}</table>"
        if tests
        else ""
    )
    return (
        f'<section class="field" id="{_anchor(f["field"])}" data-field="{escape(f["field"])}">'
        f"<h3><code>{escape(f['field'])}</code> <span class=muted>{f['type']}, compared by "
        f"{f['compared_by']}: {f['status']}</span></h3>"
        f'<div class="plot">{report.plots.get(f["field"], "")}</div>'
        f'<table class="stats"><tr><th></th>{head}</tr>{stats}</table>{shares}'
        f"{tests_html}{_alerts_table(f['alerts'])}{_gx_list(f['gx'])}</section>"
    )


_STAT_KEYS = (
    "records",
    "absent",
    "null",
    "present",
    "distinct",
    "mean",
    "std",
    "min",
    "median",
    "max",
    "length_p50",
    "length_p95",
)


def _gx_list(results: list[dict[str, Any]]) -> str:
    if not results:
        return ""
    items = "".join(
        f"<li>{'✔' if r['success'] else '✘'} <code>{escape(r['expectation'])}</code> "
        f"<span class=muted>({r['source']}; observed {escape(_cell(r['observed']))})</span></li>"
        for r in results
    )
    return f"<p>Great Expectations (corroboration, on the current sample):</p><ul>{items}</ul>"


def _undeclared(data: dict[str, Any]) -> str:
    items = data["undeclared_fields"]
    if not items:
        return ""
    rows = "".join(
        f'<tr data-field="{escape(u["field"])}"><td><code>{escape(u["field"])}</code></td>'
        f"<td>{u['policy']}</td><td class=num>{_pct(u['baseline_share'])}</td>"
        f"<td class=num>{_pct(u['current_share'])}</td><td>{'new' if u['new'] else ''}</td>"
        f"<td>{u['state']}</td></tr>"
        for u in items
    )
    return (
        '<section id="undeclared"><h2>Undeclared fields</h2><table><tr><th>field</th>'
        "<th>unknown_fields</th><th>baseline</th><th>current</th><th></th><th>verdict</th></tr>"
        f"{rows}</table></section>"
    )


def _contract(report: DriftReport, data: dict[str, Any]) -> str:
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
    reasons = ", ".join(f"{k} {v}" for k, v in report.current.reasons.most_common()) or "none"
    checked = data["contract"]["pandera_checked_records"]
    body = (
        f"<p>The guard would quarantine {report.contract_rejected} current records (reasons: "
        f"{escape(reasons)}). pandera: {c.total} failure cases in the first {checked} of them.</p>"
    )
    if counts:
        body += (
            f"<table><tr><th>field</th><th>check</th><th>cases</th></tr>{counts}</table>"
            "<table><tr><th>field</th><th>check</th><th>where</th><th>value</th></tr>"
            f"{cases}</table>"
        )
    return f'<section id="contract"><h2>Contract failures</h2>{body}</section>'


def _gx(data: dict[str, Any]) -> str:
    gx = data["great_expectations"]
    if gx is None:
        return ""
    docs = escape(gx["data_docs"])
    return (
        '<section id="gx"><h2>Great Expectations</h2>'
        f"<p>{gx['successful']} of {gx['evaluated']} expectations met on a uniform sample of "
        f"{gx['sample']} current records. They are generated from the contract and the "
        "engine's thresholds and shown as corroboration: they do not decide the verdict. "
        f'Data Docs: <a href="{docs}">{docs}</a> (they open offline).</p></section>'
    )


def _fix(report: DriftReport) -> str:
    fix = report.fix
    if fix is None:
        return ""
    left_out = "".join(
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
            '<section id="suggestion"><h2>No contract version to suggest</h2>'
            f"<p>{escape(fix.why or '')}</p><p>Not applied:</p><ul>{notes}</ul></section>"
        )
    return (
        f'<section id="suggestion"><h2>Suggested contract v{fix.version}</h2>'
        f"<p>Passes {fix.mode} (checked with the subject's whole history).</p>"
        f"<pre>{escape(fix.diff)}</pre>"
        + (f"<p>Left out because they break {fix.mode}:</p><ul>{left_out}</ul>" if left_out else "")
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
    if isinstance(x, dict):
        return ", ".join(f"{k}: {_cell(v)}" for k, v in x.items())
    return str(x)
