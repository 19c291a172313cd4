"""The drift report's per-rule section: how often each contract rule did not hold on the
current records, in JSON, Markdown and HTML (one place, so the three always agree)."""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any

from guard.contracts.rule_notes import ENFORCED_BY

# (rule, action, reason) -> records; action quarantine|warn, reason rule_failed|rule_error.
RuleHits = Counter[tuple[str, str, str]]


def rules_json(hits: RuleHits, declared: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """One row per declared rule (name, on_failure), in file order, zeros included."""
    return [
        {
            "rule": name,
            "on_failure": action,
            "failed": hits[(name, action, "rule_failed")],
            "errors": hits[(name, action, "rule_error")],
            # no GX expectation or pandera check stands for a CEL rule (contracts/rule_notes.py)
            "great_expectations": ENFORCED_BY,
            "pandera": ENFORCED_BY,
        }
        for name, action in declared
    ]


def rules_md(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    lines = [
        "",
        "### Contract rules",
        "",
        "| rule | on failure | failed | errors |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{r['rule']}` | {r['on_failure']} | {r['failed']} | {r['errors']} |" for r in rows
    ]
    return lines


def rules_html(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    body = "".join(
        f"<tr><td><code>{escape(r['rule'])}</code></td><td>{escape(r['on_failure'])}</td>"
        f"<td class=num>{r['failed']}</td><td class=num>{r['errors']}</td></tr>"
        for r in rows
    )
    return (
        '<section id="rules"><h2>Contract rules</h2><p>Current records on which each rule did '
        "not hold (<code>warn</code> rules let the record pass). Great Expectations and pandera "
        f"do not re-check them: {ENFORCED_BY}.</p><table><tr><th>rule</th>"
        f"<th>on failure</th><th>failed</th><th>errors</th></tr>{body}</table></section>"
    )
