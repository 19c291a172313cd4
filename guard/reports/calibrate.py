"""Measure the drift engine: false-alarm rate on stable samples, detection power on drifts.

    python -m guard.reports.calibrate [--runs 200] [--sizes 200,500,1000,5000] [--seed 1]
                                      [--cases "stable,shift 0.5 sd"]

Seeded synthetic `orders` v2 records (the repository's contract): a 20,000-record baseline,
then, per sample size, `runs` independent current samples of each case, each profiled and
judged exactly as `guard drift report` and the stream monitor do (the validator, the
monitor's profiles, `assess` at the default thresholds). A run of a stable case that raises
any alert is a false alarm; a run of a drift case detects it when the drifted field (or,
for a new field, its path) raises an alert. Prints Markdown tables (docs/drift-engine.md).

Cases, against a baseline where `coupon` is absent in 78%, null in 2%, `amount` is normal
(mean 200, sd 40), `currency` is EUR/USD/GBP and `shipping` is present in 40%:
null 2% -> 5% (coupon), amount shifted by 0.25 sd and 0.5 sd, a new currency (CHF) in 1% of
records, a new undeclared field (`gift_wrap`) in 5%, the optional `shipping` dropped.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guard.config.settings import DriftThresholdSettings, MonitoringSettings
from guard.contracts import load_registry
from guard.monitoring.baseline import build_from_values
from guard.monitoring.drift import Assessment, assess
from guard.monitoring.plan import SubjectPlan, plan_subject
from guard.monitoring.profile import WindowProfile
from guard.validation.validator import RecordValidator

BASELINE_RECORDS = 20_000
SIZES = (200, 500, 1000, 5000)
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"

# case -> (field whose alert counts as detection, how a record is changed)
Change = Callable[[dict[str, Any], random.Random], None]


def _null_5(o: dict[str, Any], rng: random.Random) -> None:
    o.pop("coupon", None)
    r = rng.random()
    if r < 0.05:
        o["coupon"] = None
    elif r < 0.25:
        o["coupon"] = rng.choice(["WELCOME10", "SPRING24", "VIP2026"])


def _shift(sd: float) -> Change:
    def change(o: dict[str, Any], rng: random.Random) -> None:
        o["amount"] = round(o["amount"] + sd * 40.0, 2)

    return change


def _new_category(o: dict[str, Any], rng: random.Random) -> None:
    if rng.random() < 0.01:
        o["currency"] = "CHF"


def _new_field(o: dict[str, Any], rng: random.Random) -> None:
    if rng.random() < 0.05:
        o["gift_wrap"] = rng.random() < 0.5


def _drop_shipping(o: dict[str, Any], rng: random.Random) -> None:
    o.pop("shipping", None)


CASES: dict[str, tuple[str, Change] | None] = {
    "stable": None,
    "null 2% -> 5%": ("coupon", _null_5),
    "shift 0.25 sd": ("amount", _shift(0.25)),
    "shift 0.5 sd": ("amount", _shift(0.5)),
    "new category at 1%": ("currency", _new_category),
    "new field (5%)": ("gift_wrap", _new_field),
    "dropped optional field": ("shipping", _drop_shipping),
}


def order(rng: random.Random) -> dict[str, Any]:
    o: dict[str, Any] = {
        "order_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "customer_email": f"customer{rng.randint(1, 9999)}@example.com",
        "amount": round(max(0.0, rng.gauss(200.0, 40.0)), 2),
        "currency": rng.choice(["EUR", "USD", "GBP"]),
        "quantity": rng.randint(1, 20),
        "created_at": f"2026-11-{rng.randint(1, 20):02d}T{rng.randint(0, 23):02d}:15:00Z",
        "channel": rng.choice(["web", "app", "store"]),
    }
    r = rng.random()
    if r < 0.02:
        o["coupon"] = None
    elif r < 0.22:
        o["coupon"] = rng.choice(["WELCOME10", "SPRING24", "VIP2026"])
    if rng.random() < 0.4:
        o["shipping"] = {"country": rng.choice(["DE", "FR", "NL"]), "postcode": "10115"}
    if rng.random() < 0.3:
        o["items"] = [{"sku": f"SKU-{rng.randint(1, 99)}", "qty": rng.randint(1, 3)}]
    return o


def sample(case: str, n: int, seed: int) -> list[bytes]:
    """`n` encoded orders of `case`, from `seed`."""
    rng = random.Random(seed)
    spec = CASES[case]
    out = []
    for _ in range(n):
        o = order(rng)
        if spec is not None:
            spec[1](o, rng)
        out.append(json.dumps(o, separators=(",", ":")).encode())
    return out


@dataclass
class Engine:
    """The engine as both front ends run it: plan, validator, baseline profile."""

    plan: SubjectPlan
    validator: RecordValidator
    baseline: WindowProfile

    @classmethod
    def at_defaults(cls, seed: int, schemas: Path = SCHEMAS) -> Engine:
        registry = load_registry(schemas)
        monitoring = MonitoringSettings(thresholds=DriftThresholdSettings())
        plan = plan_subject(registry.subject("orders"), monitoring)
        validator = RecordValidator(registry.subject("orders"), [2])
        engine = cls(plan, validator, WindowProfile.for_plan(plan))
        engine.baseline = engine.profile(sample("stable", BASELINE_RECORDS, seed))
        return engine

    def profile(self, values: Sequence[bytes]) -> WindowProfile:
        return build_from_values(self.plan, (self.validator.validate(v) for v in values))

    def judge(self, values: Sequence[bytes]) -> Assessment:
        return assess(self.plan, self.profile(values), self.baseline)


def detected(case: str, a: Assessment) -> bool:
    """Whether the run alerted: on anything (stable), or on the drifted field."""
    spec = CASES[case]
    if spec is None:
        return bool(a.alerts)
    return any(alert.field == spec[0] for alert in a.alerts)


def measure(
    engine: Engine, case: str, size: int, runs: int, seed: int
) -> tuple[int, list[tuple[str, str]]]:
    """(runs that alerted, what alerted in them) for one case and sample size."""
    hits = 0
    seen: list[tuple[str, str]] = []
    for run in range(runs):
        a = engine.judge(sample(case, size, seed * 1_000_003 + size * 1009 + run))
        if detected(case, a):
            hits += 1
        if CASES[case] is None:
            seen.extend((x.field, x.statistic) for x in a.alerts)
    return hits, seen


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    cases = [c.strip() for c in args.cases.split(",")]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error(f"unknown cases {unknown}; known: {', '.join(CASES)}")
    engine = Engine.at_defaults(args.seed)
    print(f"baseline: {BASELINE_RECORDS} records; {args.runs} runs per cell; seed {args.seed}")
    print()
    print("| case | " + " | ".join(f"n={n}" for n in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for case in cases:
        cells = []
        for n in sizes:
            hits, seen = measure(engine, case, n, args.runs, args.seed)
            cells.append(f"{hits / args.runs:.1%} ({hits}/{args.runs})")
            if seen:
                print(f"<!-- {case} n={n} alerts: {sorted(set(seen))} -->")
        label = "false alarms: stable" if case == "stable" else f"power: {case}"
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
