"""report.md: the verdict for a CI job summary or a pull-request comment."""

from __future__ import annotations

from typing import Any

from guard.reports.drift import DriftReport

_MAX_CASES = 20
_STATUS = {"drift": "❌ drift", "contract": "❌ contract", "ok": "✅ ok"}


def render_markdown(report: DriftReport, data: dict[str, Any]) -> str:
    """`data` is `report.to_json(out_dir)`, computed once by the caller."""
    icon = "❌" if report.drift else "✅"
    verdict = "drift" if report.drift else "no drift"
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
    ]
    if report.reasons:
        lines += [f"Why: {', '.join(report.reasons)}.", ""]
    lines += [
        "| field | kind | verdict | missing (base → current) | test | p-value | distance "
        "| GX | contract | why |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for d in report.fields:
        gx = report.gx_for(d.field)
        gx_text = f"{sum(r.success for r in gx)}/{len(gx)}" if gx else "-"
        kind = d.kind if d.measure in {"value", "presence"} else f"{d.kind} ({d.measure})"
        lines.append(
            f"| `{d.field}` | {kind} | {_STATUS[report.status(d)]} "
            f"| {_pct(d.baseline.null_rate)} → {_pct(d.current.null_rate)} | {d.test or '-'} "
            f"| {_num(d.p_value)} | {_num(d.distance)} | {gx_text} "
            f"| {report.contract_failures(d.field)} | {', '.join(d.reasons)} |"
        )
    new = [u for u in report.undeclared if u.new]
    if new:
        lines += ["", "### New undeclared fields", ""]
        lines += [f"- `{u.field}` in {_pct(u.current_share)} of rows" for u in new]
    c = report.contract
    if c.total or report.guard_rejected:
        lines += [
            "",
            "### Contract failures",
            "",
            f"pandera: {c.total} failure cases; the guard would quarantine "
            f"{report.guard_rejected} records.",
            "",
            "| field | check | cases |",
            "|---|---|---|",
        ]
        lines += [
            f"| `{f}` | `{chk}` | {n} |" for (f, chk), n in c.by_check.most_common(_MAX_CASES)
        ]
    fix = report.fix
    if fix is not None and fix.version is not None and fix.diff is not None:
        lines += ["", f"### Suggested contract v{fix.version}", "", "```text", fix.diff, "```"]
        if fix.breaks:
            lines += ["", f"Under {fix.mode} compatibility this would break:", ""]
            lines += [f"- `{b.field}` ({b.direction}): {b.why}" for b in fix.breaks]
        lines += [
            "",
            f"Write it with `guard schemas suggest --subject {report.subject} "
            f"{' '.join(report.current.files)} "
            f"--out schemas/{report.subject}/v{fix.version}.yaml`.",
        ]
    elif fix is not None:
        lines += ["", "### No contract change to suggest"]
    if fix is not None and fix.not_applied:
        lines += ["", "Not applied (for a person to decide):", ""]
        lines += [f"- `{p.field}` {p.change}: {p.detail}" for p in fix.not_applied[:_MAX_CASES]]
    gx = data["great_expectations"]
    lines += ["", "---", "", "Full report: `report.html`"]
    if gx is not None:
        lines[-1] += (
            f"; Great Expectations: {gx['successful']}/{gx['evaluated']} expectations met, "
            f"Data Docs: `{gx['data_docs']}`"
        )
    return "\n".join(lines) + "\n"


def _batch(b: dict[str, Any]) -> str:
    return f"{b['records']} records ({', '.join(b['files'])})"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"
