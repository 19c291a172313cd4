"""Summaries over rounds, the table, the Targets of issues 9 and 17, and the JSON written beside
them."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from benchmarks.contenders import CONTENDERS
from benchmarks.dataset import HEADLINE, MID
from benchmarks.race import Result

CEILINGS = {"kp copy": "kafka-python tx copy", "cf copy": "confluent tx copy"}


def _median(values: Iterable[float]) -> float | None:
    got = [v for v in values if v]
    return statistics.median(got) if got else None


def ratio_medians(
    results: list[Result], name: str, dataset: str, ceiling: str, by_cpu: bool = False
) -> float | None:
    """Median over rounds of rate(name) / rate(ceiling), both from the same round; `by_cpu`:
    of cpu(ceiling) / cpu(name) per record, the speed ratio if both had the CPU to themselves
    (steadier than rates when other work shares the machine)."""
    got = {
        (r.contender, r.round): (1 / r.cpu_per_million if by_cpu else r.rate)
        for r in results
        if r.dataset == dataset and r.status == "ok" and (r.cpu_per_million if by_cpu else r.rate)
    }
    return _median(
        got[(name, rnd)] / got[(ceiling, rnd)]
        for (who, rnd) in got
        if who == name and (ceiling, rnd) in got
    )


def summarise(
    results: list[Result], latencies: dict[str, dict[str, float]]
) -> list[dict[str, Any]]:
    rows = []
    for dataset in dict.fromkeys(r.dataset for r in results):
        for contender in CONTENDERS:
            runs = [r for r in results if r.dataset == dataset and r.contender == contender.name]
            if not runs:
                continue
            failed = [r for r in runs if r.status != "ok"]
            status = failed[0].status if failed else "ok"
            ok = [r for r in runs if r.status == "ok"]
            row: dict[str, Any] = {
                "contender": contender.name,
                "family": contender.family,
                "note": contender.note,
                "dataset": dataset,
                "rounds": len(runs),
                "status": status,
                "error": failed[0].error if failed else "",
                "rate": _median(r.rate for r in ok),
                "cpu_per_million": _median(r.cpu_per_million for r in ok),
                "peak_rss_mb": max((r.peak_rss_mb for r in ok), default=None),
                "verdicts_agree": all(r.verdicts_agree is not False for r in ok),
                "verified": [
                    {"valid": r.out_valid, "invalid": r.out_invalid, "keys": r.distinct_keys}
                    for r in ok
                ],
            }
            for label, ceiling in CEILINGS.items():
                row[f"x {label}"] = ratio_medians(results, contender.name, dataset, ceiling)
            # The table shows the two copies; the JSON has the ratio to every ceiling.
            row["ratio_to_ceiling"] = {
                c.name: ratio_medians(results, contender.name, dataset, c.name)
                for c in CONTENDERS
                if c.family == "ceiling"
            }
            if dataset == HEADLINE.name and contender.name in latencies:
                row.update(latencies[contender.name])
            rows.append(row)
    return rows


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'contender':<26}{'status':>12}{'rec/s':>10}{'CPU s/1M':>10}{'RSS MB':>8}"
        f"{'p50 ms':>8}{'p99 ms':>8}{'x kp copy':>10}{'x cf copy':>10}  verified read_committed"
    )
    out: list[str] = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        out += ["", f"== {dataset}", head]
        for r in (r for r in rows if r["dataset"] == dataset):
            verified = "; ".join(
                f"{v['valid']}+{v['invalid']}" if v["invalid"] is not None else f"{v['valid']}"
                for v in r["verified"]
                if v["valid"] is not None
            ) or ("reads only" if r["status"] == "ok" else r["error"][:70])
            if r["status"] == "ok" and not r["verdicts_agree"]:
                verified += " (split differs from the dataset's)"
            out.append(
                f"{r['contender']:<26}{r['status']:>12}{_fmt(r['rate'], ',.0f'):>10}"
                f"{_fmt(r['cpu_per_million'], '.1f'):>10}{_fmt(r['peak_rss_mb'], '.0f'):>8}"
                f"{_fmt(r.get('p50_ms'), '.0f'):>8}{_fmt(r.get('p99_ms'), '.0f'):>8}"
                f"{_fmt(r['x kp copy'], '.2f'):>10}{_fmt(r['x cf copy'], '.2f'):>10}  {verified}"
            )
    return "\n".join(out)


@dataclass(frozen=True)
class Target:
    text: str
    threshold: float
    measured: float | None  # None: a contender it needs did not run
    why_unmeasured: str = ""
    by_cpu: float | None = None  # the same ratio from CPU per record (see ratio_medians)
    issue: int = 9
    at_most: bool = False  # a cost: met when measured <= threshold

    @property
    def verdict(self) -> str:
        if self.measured is None:
            return "not measured"
        met = self.measured <= self.threshold if self.at_most else self.measured >= self.threshold
        return "met" if met else "NOT MET"

    @property
    def bound(self) -> str:
        return f"needs <= {self.threshold}" if self.at_most else f"needs >= {self.threshold}"


def _ratio_target(
    results: list[Result], text: str, threshold: float, a: str, b: str, dataset: str, issue: int
) -> Target:
    """rate(a) / rate(b) on `dataset`, the median of per-round ratios, or why it is missing."""
    broken = {r.contender: r.error for r in results if r.status != "ok"}
    why = "; ".join(f"{n}: {broken[n]}" for n in (a, b) if n in broken)
    got = None if why else ratio_medians(results, a, dataset, b)
    if got is None and not why:
        why = f"{a} and {b} did not both run on {dataset}"
    cpu = None if why else ratio_medians(results, a, dataset, b, by_cpu=True)
    return Target(text, threshold, got, why, cpu, issue)


def _cpu_target(
    results: list[Result], text: str, most: float, name: str, dataset: str, issue: int
) -> Target:
    """Median CPU seconds per 1M records of `name` on `dataset`, met at or below `most`."""
    got = _median(
        r.cpu_per_million
        for r in results
        if r.contender == name and r.dataset == dataset and r.status == "ok"
    )
    why = "" if got is not None else f"{name} did not run on {dataset}"
    return Target(text, most, got, why, issue=issue, at_most=True)


def _rss_target(rss: dict[str, Any] | None, issue: int) -> Target:
    growth = None if rss is None else rss.get("growth")
    flat = None if growth is None else 1.0 - growth
    if rss is None:
        why = "no RSS run yet: python -m benchmarks --long"
    elif growth is None:
        why = f"the RSS run {rss.get('status')}: {rss.get('error')}"
    else:
        who = rss.get("contender", "guard kafka-python")  # runs before 2026-12-07 named none
        why = f"from {rss['file']} ({who}, {rss['records']:,} records, {rss['finished']})"
    text = "RSS flat: growth < 10% between 1/5 and all of 1M records (1 - growth)"
    return Target(text, 0.9, flat, why, issue=issue)


def targets(results: list[Result], rss: dict[str, Any] | None) -> list[Target]:
    """Issue 9's Targets on the headline input and issue 17's on it and the ~1 KB input, as
    medians of per-round ratios."""
    return _targets_9(results, rss) + _targets_17(results, rss)


def _targets_17(results: list[Result], rss: dict[str, Any] | None) -> list[Target]:
    small, mid = HEADLINE.name, MID.name
    guard, quix, flush = "guard confluent", "Quix Streams EOS", "confluent tx copy, flush"
    out = []
    for dataset in (small, mid):
        out.append(_ratio_target(
            results, f"guard on confluent >= 2x Quix Streams EOS ({dataset})", 2.0,
            guard, quix, dataset, 17,
        ))  # fmt: skip
    for dataset, share in ((small, 0.85), (mid, 0.75)):
        out.append(_ratio_target(
            results,
            f"guard on confluent >= {round(share * 100)}% of the raw flush-before-offsets "
            f"tx copy ({dataset})",
            share, guard, flush, dataset, 17,
        ))  # fmt: skip
    out.append(_cpu_target(
        results, f"guard on confluent <= 20 CPU s per 1M records ({small})", 20.0,
        guard, small, 17,
    ))  # fmt: skip
    for dataset in (small, mid):
        out.append(_ratio_target(
            results, f"guard on kafka-python >= its raw tx copy ({dataset})", 1.0,
            "guard kafka-python", "kafka-python tx copy", dataset, 17,
        ))  # fmt: skip
    out.append(_rss_target(rss, 17))
    return out


def _targets_9(results: list[Result], rss: dict[str, Any] | None) -> list[Target]:
    d = HEADLINE.name

    def target(text: str, threshold: float, a: str, b: str) -> Target:
        return _ratio_target(results, text, threshold, a, b, d, 9)

    out = [
        target("guard on confluent >= 1.5x Quix Streams EOS", 1.5,
               "guard confluent", "Quix Streams EOS"),
        target("guard on confluent >= 60% of raw confluent tx copy", 0.6,
               "guard confluent", "confluent tx copy"),
        target("guard on kafka-python >= 90% of raw kafka-python tx copy", 0.9,
               "guard kafka-python", "kafka-python tx copy"),
        target("guard on kafka-python >= 5x the hand-written jsonschema loop", 5.0,
               "guard kafka-python", "hand-written jsonschema"),
        target("guard on confluent >= 5x the hand-written jsonschema loop", 5.0,
               "guard confluent", "hand-written jsonschema"),
        target("monitoring costs <= 15% of throughput (kafka-python: on/off >= 0.85)", 0.85,
               "guard kafka-python +mon", "guard kafka-python"),
        target("monitoring costs <= 15% of throughput (confluent: on/off >= 0.85)", 0.85,
               "guard confluent +mon", "guard confluent"),
        target("three contract rules cost <= 15% (kafka-python: rules/none >= 0.85)", 0.85,
               "guard kafka-python +rules", "guard kafka-python"),
        target("three contract rules cost <= 15% (confluent: rules/none >= 0.85)", 0.85,
               "guard confluent +rules", "guard confluent"),
    ]  # fmt: skip
    out.append(_rss_target(rss, 9))
    return out


def _heading(issue: int) -> str:
    if issue == 9:
        return f"Targets (issue 9) on {HEADLINE.name}"
    return f"Targets (issue 17) on {HEADLINE.name} and {MID.name}"


def _by_issue(found: list[Target]) -> dict[int, list[Target]]:
    """The targets grouped by issue, in the order they were found."""
    groups: dict[int, list[Target]] = {}
    for t in found:
        groups.setdefault(t.issue, []).append(t)
    return groups


def targets_text(found: list[Target]) -> str:
    blocks = []
    for issue, group in _by_issue(found).items():
        lines = [_heading(issue) + ":"]
        for t in group:
            got = "" if t.measured is None else f" (measured {t.measured:.2f}, {t.bound}"
            got += "" if t.by_cpu is None else f"; by CPU per record {t.by_cpu:.2f})"
            got += ")" if t.measured is not None and t.by_cpu is None else ""
            why = f" - {t.why_unmeasured[:160]}" if t.why_unmeasured else ""
            lines.append(f"  [{t.verdict:>12}] {t.text}{got}{why}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def markdown(rows: list[dict[str, Any]], found: list[Target]) -> str:
    """The table and the targets as Markdown, for docs/performance.md."""
    out = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        out += [
            f"**{dataset}**",
            "",
            "| contender | status | records/s | CPU s / 1M | peak RSS MB | p50 ms | p99 ms "
            "| x kp copy | x cf copy | read back (valid+invalid per round) |",
            "|---|---|--:|--:|--:|--:|--:|--:|--:|---|",
        ]
        for r in (r for r in rows if r["dataset"] == dataset):
            verified = ", ".join(
                f"{v['valid']}+{v['invalid']}" if v["invalid"] is not None else f"{v['valid']}"
                for v in r["verified"]
                if v["valid"] is not None
            ) or ("reads only" if r["status"] == "ok" else r["error"][:90])
            out.append(
                f"| {r['contender']} | {r['status']} | {_fmt(r['rate'], ',.0f')} "
                f"| {_fmt(r['cpu_per_million'], '.1f')} | {_fmt(r['peak_rss_mb'], '.0f')} "
                f"| {_fmt(r.get('p50_ms'), '.0f')} | {_fmt(r.get('p99_ms'), '.0f')} "
                f"| {_fmt(r['x kp copy'], '.2f')} | {_fmt(r['x cf copy'], '.2f')} | {verified} |"
            )
        out.append("")
    for issue, group in _by_issue(found).items():
        out += [
            f"| target (issue {issue}) | verdict | measured | by CPU per record |",
            "|---|---|---|---|",
        ]
        for t in group:
            got = "-" if t.measured is None else f"{t.measured:.2f} ({t.bound})"
            why = f" {t.why_unmeasured[:140]}" if t.why_unmeasured else ""
            out.append(f"| {t.text} | {t.verdict} | {got}{why} | {_fmt(t.by_cpu, '.2f')} |")
        out.append("")
    return "\n".join(out)


def main() -> None:
    """`python -m benchmarks.report build/bench/bench-latest.json`: that run as Markdown."""
    import json
    import sys
    from pathlib import Path

    report = json.loads(Path(sys.argv[1]).read_text())
    found = [
        Target(
            t["target"],
            t["threshold"],
            t["measured"],
            t["why_unmeasured"],
            t.get("by_cpu"),
            t.get("issue", 9),
            t.get("at_most", False),
        )
        for t in report["targets"]
    ]
    print(f"`{report['command']}`, finished {report['finished']}\n")
    print(markdown(report["rows"], found))


if __name__ == "__main__":
    main()
