"""Data-shape monitoring in the stream: window profiles, baselines and drift alerts.

Modules, each with one job:

    plan.py           which fields of a subject are profiled, and how (from the contracts)
    thresholds.py     drift thresholds per field: defaults <- contract `drift:` <- config
    profile.py        window profiles: per-field exact counters and mergeable summaries,
                      updated a batch at a time (field_profile.py)
    quantiles.py      deterministic value summaries: log-spaced bins, exact moments
    window.py         count/time windows and their exactly-once staging
    baseline.py       baseline files `schemas/<subject>/baseline-v<N>.json`: build, save, load
    drift.py          checks of a window against its baseline (scipy and the sketch library)
    alerts.py         alert events (values redacted unless `expose_values`)
    metrics.py        Prometheus counters and gauges, optional HTTP exporter
    profiles_topic.py profiles on the compacted topic: records, reading, merging
    topics.py         creating the drift and profiles topics
    sequential.py     CUSUM per numeric field between window closes (early alerts)
    history.py        window summaries judged against their history (rate of change,
                      seasonal)
    window_info.py    where a window sits, for alert events and logs
    observer.py       the BatchObserver wired into the service loop
    status.py         `guard drift status`: merged state per subject and field

Importing this package is cheap: numpy, scipy, datasketches and prometheus_client are only
imported by the modules that need them, so a service with monitoring off never loads them.
"""

from __future__ import annotations

from importlib.util import find_spec

from guard.errors import ConfigError

LIBRARIES = {
    "numpy": "numpy",
    "scipy": "scipy",
    "datasketches": "datasketches",
    "prometheus_client": "prometheus-client",
}


def require_libraries() -> None:
    """Fail with an install hint, before any work, when a monitoring library is missing."""
    missing = [package for module, package in LIBRARIES.items() if find_spec(module) is None]
    if missing:
        raise ConfigError(
            f"monitoring needs {', '.join(missing)}: pip install 'ingest-guard[monitoring]'"
        )
