"""`guard run`: the Kafka consumer service."""

from __future__ import annotations

import json
from pathlib import Path

import click

from guard.cli.early_signals import EarlySignals
from guard.cli.options import config_option


@click.command()
@config_option
@click.option("--max-records", type=int, help="Stop after this many records (bounded runs).")
@click.option("--idle-timeout", type=float, help="Stop after this many seconds without records.")
def run(config_path: Path, max_records: int | None, idle_timeout: float | None) -> None:
    """Consume the source topics, validate every record, route it, commit exactly once.

    SIGTERM/SIGINT finish and commit the batch in flight (during a broker outage: leave it
    uncommitted), then exit 0; if that takes longer than service.stop_grace_s (a client call
    that does not return), exit 3 at the grace. A loop step held longer than
    service.stall_timeout_s also ends in exit 3 (watchdog), as does a broker failure streak
    past retry.max_attempts or retry.outage_budget_s, a rejected login, or more than
    retry.max_rejoins rejoins (fenced, or no progress while records wait) in
    retry.rejoin_window_s.
    """
    early = EarlySignals().install()  # before the heavy imports below: see early_signals
    try:
        _run(config_path, max_records, idle_timeout, early)
    finally:
        early.restore()


def _run(
    config_path: Path, max_records: int | None, idle_timeout: float | None, early: EarlySignals
) -> None:
    import structlog

    from guard.contracts import load_registry
    from guard.errors import ConfigError
    from guard.logs import configure_logging
    from guard.service import last_resort
    from guard.service.build import build_service
    from guard.service.health import Health
    from guard.service.heap import settled_heap
    from guard.service.metrics import MetricsServer, ServiceMetrics
    from guard.service.probe import ServiceProbe
    from guard.service.transaction import BatchObserver
    from guard.transport.factory import load_checked_settings

    settings = load_checked_settings(config_path)
    configure_logging(settings.log.level, settings.log.format)
    log = structlog.get_logger("guard.run")
    registry = load_registry(settings.schemas_dir)
    log.info("starting", config=settings.redacted())
    m = settings.metrics
    metrics = ServiceMetrics(client=settings.kafka.client)
    health = Health(m.stall_seconds, m.ready_seconds)
    subjects = {source: route.subject for source, route in settings.topics.items()}
    probe = ServiceProbe(metrics, health, subjects, m.lag_seconds, settings.log.progress_seconds)
    observers: list[BatchObserver] = []
    if settings.monitoring.enabled:  # numpy, scipy and the sketch library load only then
        from guard.monitoring import require_libraries

        require_libraries()
        from guard.monitoring.metrics import MonitorMetrics
        from guard.monitoring.observer import MonitoringObserver

        monitor = MonitoringObserver(settings, registry, metrics=MonitorMetrics(metrics.registry))
        observers.append(monitor)
    from guard.shadow.metrics import ShadowMetrics
    from guard.shadow.observer import ShadowObserver

    shadow = ShadowObserver(settings, registry, ShadowMetrics(metrics.registry))
    if shadow.active:  # only when a routed subject has a `status: candidate` version
        observers.append(shadow)
    service = build_service(settings, registry, observers=observers, probe=probe)
    # Signals first: a SIGTERM during start-up (a slow broker) must stop the run, too.
    service.install_signal_handlers()
    if early.reason is not None:  # one came while this process was still starting
        service.request_stop(early.reason)
    service.start_watchdog()
    server = None
    if m.port is not None:
        try:
            server = MetricsServer(m.host, m.port, metrics.registry, health).start()
        except OSError as exc:
            raise ConfigError(f"metrics.port: cannot listen on {m.host}:{m.port}: {exc}") from exc
        log.info("metrics and health endpoints", host=m.host, port=server.port)
    try:
        if settings.monitoring.enabled:
            monitor.start()
        if shadow.active:
            shadow.start()
        with settled_heap():  # start-up is over: what is left lives as long as the loop
            summary = service.run(max_records=max_records, idle_timeout=idle_timeout)
    finally:
        if server is not None:
            server.close()
        last_resort.bound_exit(settings.service.stop_grace_s)
    stats = summary.stats
    log.info(
        "stopped",
        stopped_by=summary.stopped_by,
        records=stats.total,
        valid=stats.valid,
        quarantined=stats.quarantined,
        by_reason=dict(stats.by_reason),
        batches=summary.batches,
        retries=summary.retries,
        seconds=round(summary.seconds, 3),
    )
    click.echo(
        json.dumps(
            {
                "stopped_by": summary.stopped_by,
                "records": stats.total,
                "valid": stats.valid,
                "quarantined": stats.quarantined,
                "by_reason": dict(stats.by_reason.most_common()),
            }
        )
    )
