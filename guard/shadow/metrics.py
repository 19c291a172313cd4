"""Shadow rollout counters on the service's /metrics (labels: subjects, candidate versions,
reason codes, rule names from the contracts: bounded; never keys or values)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from guard.shadow.counts import ShadowCounts


class ShadowMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.records = Counter(
            "guard_shadow_records",
            "Records a candidate version judged beside the enforced ones, by what it would do.",
            ["subject", "version", "outcome"],
            registry=registry,
        )
        self.reasons = Counter(
            "guard_shadow_reasons",
            "Reason codes a candidate version would quarantine records for.",
            ["subject", "version", "reason"],
            registry=registry,
        )
        self.rules = Counter(
            "guard_shadow_rule_hits",
            "Rules of a candidate version that did not hold, by rule and action.",
            ["subject", "version", "rule"],
            registry=registry,
        )

    def add(self, counts: ShadowCounts) -> None:
        subject, version = counts.subject, str(counts.version)
        passing = counts.records - counts.would_quarantine
        if passing:
            self.records.labels(subject, version, "would_pass").inc(passing)
        if counts.would_quarantine:
            self.records.labels(subject, version, "would_quarantine").inc(counts.would_quarantine)
        for reason, n in counts.by_reason.items():
            self.reasons.labels(subject, version, reason).inc(n)
        for rule, n in counts.by_rule.items():
            self.rules.labels(subject, version, rule).inc(n)
