"""History strategies measured: false alarms on seasonal stable streams, and a step change.

    python benchmarks/history_calibration.py [--runs 200] [--weeks 5] [--seed 1]

Seeded window summaries of a stable but seasonal stream: hourly windows; volume (records
per second) follows a daily cycle (+-50% around 20/s, peak mid-afternoon) and, in the
`weekly` variant, weekends at 60%; each window's record count is Poisson at that rate; the
quarantine rate is Binomial(records, 1%) / records and a field's null rate Binomial(records,
2%) / records. Each window is judged against the bounded history before it, exactly as the
monitor judges it (guard.monitoring.history.judge, default `monitoring.history` unless a
variant changes the volume rule). A run that raises any history alert is a false alarm.
Then the same streams with the quarantine rate stepping from 1% to 10% in the last week:
a run detects it when the step's first window alerts on `quarantine_rate`.
Prints a Markdown table (docs/drift-engine.md).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

import numpy as np

from guard.config.settings import HistoryRule, HistorySettings
from guard.monitoring.history import WindowSummary, judge

HOUR = 3600.0
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a Thursday


def seasonal_stream(
    hours: int,
    seed: int,
    weekly: bool = False,
    quarantine: float = 0.01,
    step_at: int | None = None,
    step_to: float = 0.10,
) -> list[WindowSummary]:
    """Hourly window summaries of a stable seasonal stream (see the module docstring)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(hours):
        at = T0 + (i + 0.5) * HOUR
        hour_of_day = (at % 86_400) / HOUR
        rate = 20.0 * (1 + 0.5 * math.sin(2 * math.pi * (hour_of_day - 9) / 24))
        day = int((at // 86_400 + 3) % 7)  # 0 = Monday (T0 is a Thursday)
        if weekly and day >= 5:
            rate *= 0.6
        records = max(int(rng.poisson(rate * HOUR)), 1)
        q = step_to if step_at is not None and i >= step_at else quarantine
        quarantined = int(rng.binomial(records, q))
        nulls = int(rng.binomial(records - quarantined, 0.02))
        out.append(
            WindowSummary(
                "orders",
                "sim",
                i,
                at,
                HOUR,
                records,
                quarantined,
                records / HOUR,
                {"coupon": nulls / max(records - quarantined, 1)},
            )
        )
    return out


def replay(cfg: HistorySettings, summaries: Sequence[WindowSummary]) -> list[tuple[int, str, str]]:
    """(window, metric, strategy) of every history alert, judging as the monitor does."""
    alerts = []
    for i, current in enumerate(summaries):
        history = summaries[max(0, i - cfg.windows) : i]
        for j in judge(cfg, current, history):
            if j.anomalous:
                alerts.append((i, j.metric, j.strategy))
    return alerts


VARIANTS = {
    "daily cycle, defaults": (False, HistorySettings()),
    "daily + weekly cycle, defaults (volume seasonal daily)": (True, HistorySettings()),
    "daily + weekly cycle, volume seasonal weekly": (
        True,
        HistorySettings(
            windows=1000, volume=HistoryRule(strategy="seasonal", period="weekly", min_band=0.1)
        ),
    ),
    "daily cycle, volume rate_of_change +-50%": (
        False,
        HistorySettings(
            volume=HistoryRule(strategy="rate_of_change", max_increase=0.5, max_decrease=0.5)
        ),
    ),
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--weeks", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="", help="only variants whose name contains this")
    parser.add_argument("--no-step", action="store_true", help="skip the step-change row")
    args = parser.parse_args(argv)
    hours = args.weeks * 7 * 24
    print(f"hourly windows, {args.weeks} weeks per run, {args.runs} runs per row")
    print()
    print("| stream, rules | runs with any history alert | alerts by metric/strategy |")
    print("|---|---|---|")
    for name, (weekly, cfg) in VARIANTS.items():
        if args.only not in name:
            continue
        alarmed, kinds = 0, {}
        for r in range(args.runs):
            alerts = replay(cfg, seasonal_stream(hours, args.seed * 100_003 + r, weekly))
            alarmed += bool(alerts)
            for _, metric, strategy in alerts:
                key = f"{metric.split(':')[0]}/{strategy}"
                kinds[key] = kinds.get(key, 0) + 1
        shown = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "-"
        print(f"| {name} | {alarmed / args.runs:.1%} ({alarmed}/{args.runs}) | {shown} |")
    if args.no_step:
        return
    caught = 0
    step_at = hours - 7 * 24
    for r in range(args.runs):
        stream = seasonal_stream(hours, args.seed * 100_003 + r, step_at=step_at)
        alerts = replay(HistorySettings(), stream)
        caught += any(i == step_at and m == "quarantine_rate" for i, m, _ in alerts)
    print(
        f"| quarantine rate 1% -> 10% (defaults) | detected at the step in "
        f"{caught / args.runs:.1%} ({caught}/{args.runs}) | quarantine_rate/rate_of_change |"
    )


if __name__ == "__main__":
    main()
