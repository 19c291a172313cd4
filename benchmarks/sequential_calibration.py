"""Sequential detection measured: detection delay per shift, false alarms over 6 windows.

    python benchmarks/sequential_calibration.py [--runs 200] [--window 5000] [--seed 1]

Seeded `orders` v2 records (guard.reports.calibrate: `amount` normal, mean 200, sd 40;
`quantity` uniform 1..20), a 20,000-record baseline, the defaults (`monitoring.sequential`
and the drift thresholds). Two measurements:

- Delay: per case, `runs` streams whose `amount` shifts by the given sd from the middle of
  the third window on; the delay is the records from the drift's start to the first alert,
  CUSUM (early) or window close (each window judged by the engine when it closes). Alerts
  before the drift count as false alarms of that run.
- Delay of the other drifts (`--cases`, guard.reports.calibrate's cases: nulls, a new
  category, a new field, a dropped field): the same, over two windows with the drift from
  the middle of the first; these only the window tests can see, at a window's close.
- CUSUM false alarms alone (`--cusum-runs N`): N stable streams of 6 windows of the two
  monitored fields' values only (numpy, the same distributions as `order`), fed in batches
  and re-armed at each window close as the monitor does; fast, so N can be large.
- False alarms: `runs` stable streams of 6 windows, every record validated and profiled,
  each window judged at its close and the CUSUM fed as the monitor feeds it; a run with any
  alert (either kind) is a false alarm. The target: at most 5% of runs.

Prints Markdown tables (docs/drift-engine.md).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from collections.abc import Sequence

import numpy as np

from guard.config.settings import SequentialSettings
from guard.monitoring.drift import assess
from guard.monitoring.sequential import Cusum
from guard.reports.calibrate import CASES, Engine, order

BATCH = 500  # records per poll, as the service batches them
WINDOWS = 6


def stream(n: int, seed: int, shift_sd: float, at: int, case: str | None = None) -> list[bytes]:
    rng = random.Random(seed)
    change = CASES[case] if case is not None else None
    out = []
    for i in range(n):
        o = order(rng)
        if i >= at and shift_sd:
            o["amount"] = round(o["amount"] + shift_sd * 40.0, 2)
        if i >= at and change is not None:
            change[1](o, rng)
        out.append(json.dumps(o, separators=(",", ":")).encode())
    return out


def run(
    engine: Engine, cusum: Cusum, values: Sequence[bytes], window: int, judge: bool
) -> tuple[int | None, str | None, list[str]]:
    """(position of the first alert, its kind, what alerted) over the stream."""
    c = cusum
    for w_start in range(0, len(values), window):
        chunk = values[w_start : w_start + window]
        verdicts = [engine.validator.validate(v) for v in chunk]
        for b in range(0, len(chunk), BATCH):
            c, alerts = c.feed([v.record for v in verdicts[b : b + BATCH]], b)
            if alerts:
                at = w_start + min(int(a.detail["records_into_window"]) for a in alerts)
                return at, "cusum", [f"{a.field}/{a.statistic}" for a in alerts]
        if judge and len(chunk) == window:
            a = assess(engine.plan, engine.profile(chunk), engine.baseline)
            if a.alerts:
                return w_start + window, "window", [f"{x.field}/{x.statistic}" for x in a.alerts]
        c = c.rearm()
    return None, None, []


def cusum_false_alarms(cusum: Cusum, runs: int, seed: int, window: int) -> int:
    """Stable runs of WINDOWS windows in which the CUSUM alone alerted."""
    alarmed = 0
    for r in range(runs):
        rng = np.random.default_rng([seed, r])
        n = WINDOWS * window
        amounts = np.maximum(0.0, rng.normal(200.0, 40.0, n)).round(2)
        quantities = rng.integers(1, 21, n)
        records = [
            {"amount": float(a), "quantity": int(q)}
            for a, q in zip(amounts, quantities, strict=True)
        ]
        c, hit = cusum, False
        for w_start in range(0, n, window):
            for b in range(0, window, BATCH):
                start = w_start + b
                c, alerts = c.feed(records[start : start + BATCH], b)
                hit = hit or bool(alerts)
            c = c.rearm()
        alarmed += hit
    return alarmed


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--window", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shifts", default="0.2,0.3,0.5,-0.3", help="'' for none")
    parser.add_argument("--cases", default="", help="comma-separated calibrate cases")
    parser.add_argument("--no-stable", action="store_true", help="skip the false-alarm runs")
    parser.add_argument("--cusum-runs", type=int, default=0, help="CUSUM-only stable runs")
    args = parser.parse_args(argv)
    engine = Engine.at_defaults(args.seed)
    cfg = SequentialSettings()
    cusum = Cusum.for_baseline(engine.plan, engine.baseline, cfg)
    assert cusum is not None
    w = args.window
    print(
        f"baseline 20000 records; window {w}; {args.runs} runs per row; seed {args.seed}; "
        f"CUSUM k={cfg.reference_sd}, h={cusum.h:.2f} ({len(cusum.fields)} fields, "
        f"budget {cfg.false_alarm:.0%} per {cfg.horizon_records} records)"
    )
    print()
    print("| drift (from mid-window) | median delay | 95th pct | max | caught by |")
    print("|---|---|---|---|---|")
    drift_at = 2 * w + w // 2
    rows: list[tuple[str, float, str | None, int, int]] = [
        (f"amount {float(x):+.1f} sd", float(x), None, 4 * w, drift_at)
        for x in args.shifts.split(",")
        if x.strip()
    ]
    rows += [(c, 0.0, c, 2 * w, w // 2) for c in args.cases.split(",") if c.strip()]
    for label, shift, case, length, start in rows:
        delays: list[int] = []
        kinds: list[str] = []
        early = 0
        for r in range(args.runs):
            values = stream(length, args.seed * 7919 + r, shift, start, case)
            at, kind, _ = run(engine, cusum, values, w, judge=True)
            if at is not None and at <= start:
                early += 1
                continue
            delays.append(at - start if at is not None else 10**9)
            kinds.append(kind or "none")
        q = (
            statistics.quantiles(delays, n=20, method="inclusive")[-1]
            if len(delays) > 1
            else delays[0]
        )
        caught = ", ".join(f"{k} {kinds.count(k)}" for k in sorted(set(kinds)))
        print(
            f"| {label} | {statistics.median(delays):.0f} | {q:.0f} | {max(delays)} | "
            f"{caught}{f'; {early} alerted before the drift' if early else ''} |",
            flush=True,
        )
    print()
    if args.cusum_runs:
        hit = cusum_false_alarms(cusum, args.cusum_runs, args.seed, w)
        print(
            f"| stable runs of {WINDOWS} windows with a CUSUM alert "
            f"(budget {cfg.false_alarm:.0%}) |"
        )
        print("|---|")
        print(f"| {hit / args.cusum_runs:.1%} ({hit}/{args.cusum_runs}) |")
        print()
    if args.no_stable:
        return
    alarmed = 0
    seen: list[str] = []
    for r in range(args.runs):
        values = stream(WINDOWS * w, 10**6 + args.seed * 7919 + r, 0.0, 0)
        at, _kind, what = run(engine, cusum, values, w, judge=True)
        if at is not None:
            alarmed += 1
            seen.extend(what)
    print(f"| stable runs of {WINDOWS} windows with any alert (target <= 5%) |")
    print("|---|")
    print(f"| {alarmed / args.runs:.1%} ({alarmed}/{args.runs}) |")
    if seen:
        print(f"<!-- alerts: {sorted(set(seen))} -->")


if __name__ == "__main__":
    main()
