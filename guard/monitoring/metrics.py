"""Prometheus metrics of the monitor: counters and gauges in a registry of its own.

Updated only after a batch commits, so an aborted and retried batch is counted once. Labels
are subjects, field paths, reason codes and statistic names: never record values. They share
the service's registry (guard/service/metrics.py), which counts records and reasons and serves
everything on `metrics.port`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from guard.monitoring.alerts import Alert
from guard.monitoring.profile import WindowProfile


class MonitorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.windows = Counter("guard_windows", "Windows closed.", ["subject"], registry=r)
        self.alerts = Counter(
            "guard_drift_alerts",
            "Drift alerts, by statistic.",
            ["subject", "statistic"],
            registry=r,
        )
        self.errors = Counter(
            "guard_monitor_errors",
            "Batches the monitor failed on (their records went unprofiled; the data flowed).",
            ["subject"],
            registry=r,
        )
        self.window_records = Gauge(
            "guard_window_records", "Records in the last closed window.", ["subject"], registry=r
        )
        self.quarantine_rate = Gauge(
            "guard_window_quarantine_ratio",
            "Quarantined share of the last closed window.",
            ["subject"],
            registry=r,
        )
        self.null_rate = Gauge(
            "guard_field_null_ratio",
            "Null share of a field in the last closed window.",
            ["subject", "field"],
            registry=r,
        )
        self.missing_rate = Gauge(
            "guard_field_missing_ratio",
            "Missing share of a field in the last closed window.",
            ["subject", "field"],
            registry=r,
        )

    def window(self, profile: WindowProfile, alerts: list[Alert]) -> None:
        subject = profile.subject
        self.windows.labels(subject).inc()
        self.window_records.labels(subject).set(profile.records)
        self.quarantine_rate.labels(subject).set(profile.quarantine_rate)
        if profile.profiled:
            for path, fp in profile.fields.items():
                self.null_rate.labels(subject, path).set(fp.nulls / profile.profiled)
                self.missing_rate.labels(subject, path).set(fp.missing / profile.profiled)
        for alert in alerts:
            self.alerts.labels(subject, alert.statistic).inc()
