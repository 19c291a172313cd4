"""`guard config check`: validate guard.yaml and the contracts it names, optionally the broker.

Without `--connect` nothing touches the network. With it, every broker call is bounded by
`--timeout`, so a wrong address or a rejected login is reported in seconds. Output never
carries a secret: settings are shown redacted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from guard.cli.options import config_option


@click.group("config")
def config() -> None:
    """Check the service configuration."""


@config.command("check")
@config_option
@click.option("--connect", is_flag=True, help="Also check the broker, topics and permissions.")
@click.option(
    "--timeout",
    type=click.FloatRange(1, 60),
    default=10.0,
    show_default=True,
    help="Seconds each broker call may take (with --connect).",
)
def check(config_path: Path, connect: bool, timeout: float) -> None:
    """Validate the config and its contracts (exit 2 listing every problem); with --connect,
    the broker (exit 3 when it cannot be reached or refuses the login, 2 when a topic or
    permission is missing).
    """
    from guard.contracts import load_registry
    from guard.service import build_validators
    from guard.transport.factory import check_client_tls_files, load_checked_settings

    settings = load_checked_settings(config_path)
    check_client_tls_files(settings.kafka)  # what a client would open (`run` checks it too)
    registry = load_registry(settings.schemas_dir)
    build_validators(settings, registry)  # every route's subject and accepted versions
    click.echo(f"ok   config {config_path}")
    for source, route in settings.topics.items():
        versions = sorted(registry.subject(route.subject).versions)
        click.echo(f"ok   route {source} -> {route.subject} (contract versions {versions})")
    metrics_ok = _check_metrics_port(settings.metrics.host, settings.metrics.port)
    if not connect:
        if not metrics_ok:
            sys.exit(2)
        return
    from guard.transport.factory import check_broker

    bounded_ms = int(timeout * 1000)
    kafka = settings.kafka.model_copy(
        update={"request_timeout_ms": min(settings.kafka.request_timeout_ms, bounded_ms)}
    )
    outputs = [
        topic
        for source, route in settings.topics.items()
        for topic in (route.valid_for(source), route.quarantine_for(source))
    ]
    findings = check_broker(kafka, list(settings.topics), outputs)
    for f in findings:
        click.echo(f"{'ok  ' if f.ok else 'FAIL'} {f.check}: {f.detail}")
    if not all(f.ok for f in findings) or not metrics_ok:
        sys.exit(2)


def _check_metrics_port(host: str, port: int | None) -> bool:
    """`guard run` listens on metrics.port: a port in use (another guard, another server)
    would fail its start, so it fails the check."""
    if port is None:
        return True
    from guard.service.metrics import listen_error

    error = listen_error(host, port)
    if error is None:
        click.echo(f"ok   metrics {host}:{port} free")
        return True
    click.echo(f"FAIL metrics.port: cannot listen on {host}:{port}: {error}")
    return False
