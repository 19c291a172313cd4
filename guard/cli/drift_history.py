"""`guard drift history`: the window history per subject, as the monitor judges it."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from guard.cli.options import config_option


@click.command()
@config_option
@click.option("--subject", "-s", help="Only this subject.")
@click.option(
    "--last",
    type=click.IntRange(min=1),
    default=24,
    show_default=True,
    help="Show this many of the newest window summaries per subject.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the history as JSON.")
def history(config_path: Path, subject: str | None, last: int, as_json: bool) -> None:
    """Read the window summaries every instance left on the profiles topic (read_committed)
    and show, per subject, the newest windows and how the newest one fares against the
    history before it: per metric (volume, quarantine rate, null rate per field) the
    strategy (rate_of_change, seasonal), the expected range and the value.

    Exits 0 when every newest window is within its ranges, 1 when one is not, 2 on usage
    or config errors.
    """
    from guard.monitoring import require_libraries

    require_libraries()  # before anything imports numpy or the sketch library
    from guard.contracts import load_registry
    from guard.monitoring.history import judge
    from guard.monitoring.profiles_topic import read_history
    from guard.transport.factory import load_checked_settings

    settings = load_checked_settings(config_path)
    registry = load_registry(settings.schemas_dir)
    if subject is not None:
        registry.subject(subject)  # an unknown subject is a usage error, not an empty result
    cfg = settings.monitoring.history
    shared = read_history(settings)
    subjects: dict[str, Any] = {}
    anomalous = False
    for name in sorted(shared):
        if subject is not None and name != subject:
            continue
        summaries = shared[name]
        newest = summaries[-1]
        judged = judge(
            cfg,
            newest,
            summaries[-cfg.windows - 1 : -1],
            settings.monitoring.thresholds.min_records,
        )
        anomalous = anomalous or any(j.anomalous for j in judged)
        subjects[name] = {
            "windows": len(summaries),
            "recent": [s.to_json() for s in summaries[-last:]],
            "newest_judged": [j.to_json() for j in judged],
        }
    if as_json:
        topic = settings.monitoring.profiles_topic
        click.echo(json.dumps({"profiles_topic": topic, "subjects": subjects}, indent=2))
    else:
        click.echo(_text(subjects) or "no window history on the profiles topic yet")
    sys.exit(1 if anomalous else 0)


def _text(subjects: dict[str, Any]) -> str:
    lines: list[str] = []
    for name, data in subjects.items():
        lines.append(f"{name}: {data['windows']} window(s) in the history")
        lines.append("  time (UTC)           instance        records  quarantine  records/s")
        for s in data["recent"]:
            at = datetime.fromtimestamp(s["at"], UTC).strftime("%Y-%m-%d %H:%M:%S")
            rate = "-" if s["volume"] is None else f"{s['volume']:.4g}"
            q = s["quarantined"] / s["records"] if s["records"] else 0.0
            lines.append(
                f"  {at}  {s['instance'][:14]:<14} {s['records']:>8}  {q:>10.2%}  {rate:>9}"
            )
        for j in data["newest_judged"]:
            mark = "ALERT" if j["anomalous"] else "ok   "
            lines.append(
                f"  {mark} {j['metric']} = {j['value']} ({j['strategy']}: expected "
                f"{_bound(j['expected_low'])} .. {_bound(j['expected_high'])}, "
                f"{j['history_windows']} window(s))"
            )
    return "\n".join(lines)


def _bound(x: float | None) -> str:
    return "unbounded" if x is None else f"{x:.4g}"
