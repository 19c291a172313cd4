"""The bench's Targets of issue 17: ratios on both inputs, a CPU ceiling, verdicts."""

from __future__ import annotations

from benchmarks.dataset import HEADLINE, MID
from benchmarks.race import Result
from benchmarks.report import Target, targets, targets_text


def _run(name: str, dataset: str, rnd: int, rate: float, cpu: float) -> Result:
    return Result(name, "x", dataset, rnd, 1000, rate=rate, cpu_per_million=cpu)


def _race(guard_rate: float, guard_cpu: float) -> list[Result]:
    out = []
    for rnd in range(3):
        for dataset in (HEADLINE.name, MID.name):
            out += [
                _run("guard confluent", dataset, rnd, guard_rate, guard_cpu),
                _run("Quix Streams EOS", dataset, rnd, 10_000.0, 40.0),
                _run("confluent tx copy, flush", dataset, rnd, 25_000.0, 6.0),
                _run("guard kafka-python", dataset, rnd, 9_000.0, 50.0),
                _run("kafka-python tx copy", dataset, rnd, 10_000.0, 45.0),
            ]
    return out


def _issue_17(found: list[Target]) -> dict[str, Target]:
    return {t.text: t for t in found if t.issue == 17}


def test_issue_17_targets_are_judged_on_both_inputs_with_a_cpu_ceiling() -> None:
    found = _issue_17(targets(_race(guard_rate=22_000.0, guard_cpu=25.0), rss=None))
    quix = found[f"guard on confluent >= 2x Quix Streams EOS ({MID.name})"]
    assert (quix.measured, quix.verdict) == (2.2, "met")
    flush = found[
        f"guard on confluent >= 85% of the raw flush-before-offsets tx copy ({HEADLINE.name})"
    ]
    assert (flush.measured, flush.verdict) == (0.88, "met")
    cpu = found[f"guard on confluent <= 20 CPU s per 1M records ({HEADLINE.name})"]
    assert (cpu.measured, cpu.verdict) == (25.0, "NOT MET")
    kp = found[f"guard on kafka-python >= its raw tx copy ({HEADLINE.name})"]
    assert (kp.measured, kp.verdict) == (0.9, "NOT MET")


def test_a_cpu_ceiling_at_or_below_its_bound_is_met() -> None:
    found = _issue_17(targets(_race(guard_rate=22_000.0, guard_cpu=20.0), rss=None))
    assert (
        found[f"guard on confluent <= 20 CPU s per 1M records ({HEADLINE.name})"].verdict == "met"
    )


def test_a_missing_input_leaves_its_targets_not_measured_and_says_why() -> None:
    only_small = [r for r in _race(30_000.0, 15.0) if r.dataset == HEADLINE.name]
    found = _issue_17(targets(only_small, rss=None))
    mid = found[f"guard on confluent >= 2x Quix Streams EOS ({MID.name})"]
    assert mid.verdict == "not measured"
    assert MID.name in mid.why_unmeasured


def test_the_printed_targets_name_both_issues_and_each_bound() -> None:
    text = targets_text(targets(_race(22_000.0, 25.0), rss=None))
    assert "Targets (issue 9)" in text and "Targets (issue 17)" in text
    assert "needs <= 20.0" in text and "needs >= 2.0" in text
