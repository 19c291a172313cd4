"""report.md: the verdict for a CI job summary or a pull-request comment."""

from __future__ import annotations

from typing import Any

from guard.reports.drift import DriftReport
from guard.reports.rules_section import rules_md

_MAX_CASES = 20
_STATUS = {
    "drift": "❌ drift",
    "contract": "❌ contract",
    "ok": "✅ ok",
    "insufficient data": "⚠️ insufficient data",
}
_VERDICT = {"drift": ("❌", "drift"), "no_drift": ("✅", "no drift")}


def render_markdown(report: DriftReport, data: dict[str, Any]) -> str:
    """`data` is `report.to_json(out_dir)`, computed once by the caller."""
    icon, verdict = _VERDICT.get(data["verdict"], ("⚠️", "insufficient data"))
    e = data["engine"]
    lines = [
        f"## {icon} Drift report: `{report.subject}` v{report.version}: **{verdict}**",
        "",
        f"Baseline: {_batch(data['baseline'])}. Current: {_batch(data['current'])}"
        + (
            f", {data['current']['unreadable']} unreadable lines."
            if data["current"]["unreadable"]
            else "."
        ),
        "",
        f"{e['tests']} tests corrected together (Holm, family-wise p {e['family_wise_p_value']});"
        " a field drifts when a test is significant and its effect is over the threshold.",
        "",
    ]
    if report.reasons:
        lines += [f"Why: {', '.join(report.reasons)}.", ""]
    lines += [
        "| field | compared by | verdict | absent (base → current) | null (base → current) "
        "| p-value | level | GX | contract | why |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for f in data["fields"]:
        b, c = f["baseline"], f["current"]
        gx = f["gx"]
        gx_text = f"{sum(g['success'] for g in gx)}/{len(gx)}" if gx else "-"
        best = min(f["tests"], key=lambda t: t["p_value"], default=None)
        why = [a["statistic"] for a in f["alerts"]] + [
            f"few values: {x}" for x in f["insufficient"]
        ]
        lines.append(
            f"| `{f['field']}` | {f['compared_by']} | {_STATUS[f['status']]} "
            f"| {_pct(b['absent_rate'])} → {_pct(c['absent_rate'])} "
            f"| {_pct(b['null_rate'])} → {_pct(c['null_rate'])} "
            f"| {_num(best['p_value']) if best else '-'} "
            f"| {_num(best['significance_level']) if best else '-'} | {gx_text} "
            f"| {f['contract_records']} | {', '.join(why)} |"
        )
    new = [u for u in data["undeclared_fields"] if u["new"]]
    if new:
        lines += ["", "### New undeclared fields", ""]
        lines += [
            f"- `{u['field']}` in {_pct(u['current_share'])} of records ({u['state']})" for u in new
        ]
    c = report.contract
    if report.contract_rejected:
        lines += [
            "",
            "### Contract failures",
            "",
            f"The guard would quarantine {report.contract_rejected} records; pandera: "
            f"{c.total} failure cases in the first {data['contract']['pandera_checked_records']}.",
            "",
            "| field | check | cases |",
            "|---|---|---|",
        ]
        lines += [
            f"| `{f}` | `{chk}` | {n} |" for (f, chk), n in c.by_check.most_common(_MAX_CASES)
        ]
    lines += rules_md(data["contract"]["rules"])
    fix = report.fix
    if fix is not None and fix.version is not None and fix.diff is not None:
        lines += [
            "",
            f"### Suggested contract v{fix.version} (passes {fix.mode})",
            "",
            "```text",
            fix.diff,
            "```",
        ]
        if fix.breaks:
            lines += ["", f"Left out because they break {fix.mode}:", ""]
            lines += [f"- `{b.field}` ({b.direction}): {b.why}" for b in fix.breaks]
        lines += [
            "",
            f"Write it with `guard schemas suggest --subject {report.subject} "
            f"{' '.join(report.current.files)} "
            f"--out schemas/{report.subject}/v{fix.version}.yaml`.",
        ]
    elif fix is not None:
        lines += ["", "### No contract version to suggest", "", fix.why or ""]
    if fix is not None and fix.not_applied:
        lines += ["", "Not applied (for a person to decide):", ""]
        lines += [f"- `{p.field}` {p.change}: {p.detail}" for p in fix.not_applied[:_MAX_CASES]]
    gx = data["great_expectations"]
    lines += ["", "---", "", "Full report: `report.html`"]
    if gx is not None:
        lines[-1] += (
            f"; Great Expectations (corroboration, {gx['sample']}-record sample): "
            f"{gx['successful']}/{gx['evaluated']} expectations met, Data Docs: `{gx['data_docs']}`"
        )
    return "\n".join(lines) + "\n"


def _batch(b: dict[str, Any]) -> str:
    return f"{b['records']} records ({', '.join(b['files'])})"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"
