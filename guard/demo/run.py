"""Run the demo: local broker -> sample stream -> guard -> read back with read_committed."""

from __future__ import annotations

import logging
import tempfile
import time
from collections import Counter
from pathlib import Path

import click

from guard.demo.samples import sample_stream

SOURCE = "demo.orders"
PARTITIONS = 3


def schemas_dir() -> Path:
    """The repo's schemas/ in a checkout, or the copy packed into the wheel."""
    repo = Path(__file__).resolve().parents[2] / "schemas"
    return repo if repo.is_dir() else Path(__file__).resolve().parent / "schemas"


def run_demo(records: int = 2000, bad_share: float = 0.2) -> None:
    from kafka import KafkaProducer

    from guard.config import KafkaSettings
    from guard.contracts import load_registry
    from guard.localbroker import LocalKafka
    from guard.logs import configure_logging
    from guard.service.build import build_service
    from guard.transport.factory import ensure_topics, load_checked_settings
    from guard.verify import read_topic

    configure_logging("WARNING", "console")
    # kafka-python warns when a 2 MB record keeps its I/O thread busy: noise in a demo.
    logging.getLogger("kafka").setLevel(logging.ERROR)
    click.echo("starting a local Kafka broker (the first run fetches it from Maven Central)...")
    started = time.monotonic()
    with LocalKafka() as broker:
        bootstrap = broker.bootstrap_servers
        click.echo(
            f"broker Kafka {broker.version} up at {bootstrap} in {time.monotonic() - started:.1f}s"
        )

        ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), {SOURCE: PARTITIONS})

        samples = list(sample_stream(records, bad_share, old_versions=True))
        producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            max_request_size=16 * 1024 * 1024,
            request_timeout_ms=30_000,
        )
        for s in samples:
            producer.send(SOURCE, key=s.key, value=s.value, headers=s.headers)
        producer.flush(timeout=60)
        producer.close(timeout=10)
        click.echo(
            f"produced {len(samples)} records to {SOURCE} "
            f"({sum(s.expected is None for s in samples)} valid, "
            f"{sum(s.expected is not None for s in samples)} malformed)"
        )

        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "guard.yaml"
            config.write_text(
                f"kafka: {{bootstrap_servers: '{bootstrap}', group_id: demo-guard}}\n"
                f"schemas_dir: '{schemas_dir()}'\n"
                f"topics:\n  {SOURCE}: {{subject: orders, accepted_versions: all}}\n",
                encoding="utf-8",
            )
            settings = load_checked_settings(config)
            registry = load_registry(settings.schemas_dir)
            service = build_service(settings, registry)
            summary = service.run(max_records=len(samples), idle_timeout=20)

        stats = summary.stats
        rate = stats.total / summary.seconds if summary.seconds else 0.0
        click.echo(
            f"\nguard routed {stats.total} records in {summary.seconds:.1f}s "
            f"({rate:,.0f} records/s, {summary.batches} transactions)"
        )

        valid = read_topic(bootstrap, f"{SOURCE}.valid")
        quarantined = read_topic(bootstrap, f"{SOURCE}.quarantine")
        click.echo("\nwhere every record went (read back with isolation_level=read_committed):")
        click.echo(f"  {SOURCE}.valid       {len(valid):>6}")
        click.echo(f"  {SOURCE}.quarantine  {len(quarantined):>6}")
        reasons = Counter(r for rec in quarantined for r in rec.envelope["reasons"])
        click.echo("\nquarantined by reason:")
        for reason, count in reasons.most_common():
            click.echo(f"  {reason:<18} {count:>5}")

        click.echo("\na few quarantined records (values are never shown):")
        shown: set[str] = set()
        for rec in quarantined:
            env = rec.envelope
            first = env["reasons"][0]
            if first in shown or len(shown) >= 6:
                continue
            shown.add(first)
            src = env["source"]
            click.echo(
                f"  key={rec.key!r} from {src['topic']}[{src['partition']}]@{src['offset']}"
                f" subject={env['subject']} tried={env['versions_tried']}"
            )
            for err in env["errors"][:3]:
                click.echo(
                    f"      {err['code']:<16} field={err['field'] or '(record)'}: {err['message']}"
                )

        expected = Counter(s.expected or "valid" for s in samples)
        accounted = len(valid) + len(quarantined)
        click.echo(
            f"\n{len(samples)} in = {len(valid)} valid + {len(quarantined)} quarantined "
            f"= {accounted} out; lost: {len(samples) - accounted}"
        )
        if expected["valid"] != len(valid) or accounted != len(samples):
            raise click.ClickException("demo check failed: records do not add up")
