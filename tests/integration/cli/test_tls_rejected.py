"""A TLS handshake the other side rejects, against a real broker that requires client
certificates (mutual TLS, certificates generated at test time): a client that does not trust
the broker's CA, and a client whose certificate the broker rejects, exit 3 naming the TLS
handshake and the keys to check, on both transports; a trusted certificate routes records."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from guard.config import KafkaSettings
from guard.localbroker import LocalKafka
from guard.localbroker.security import (
    ClientCertificate,
    TlsFiles,
    make_client_certificate,
    make_tls_files,
    secure_local_kafka,
)
from guard.transport.kafka_python.admin import ensure_topics
from guard.verify import read_topic
from tests.fixtures.guard_process import GuardProcess
from tests.fixtures.paths import SCHEMAS
from tests.integration.faults.harness import wait_caught_up
from tests.integration.service.kafka_helpers import create, produce, write_config

# One xdist group: the mutual-TLS broker is a module fixture, which every worker taking one of these
# tests would otherwise build again.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("mtls-broker")]

GOOD = json.dumps(
    {
        "order_id": "123e4567-e89b-42d3-a456-426614174000",
        "customer_email": "a@example.com",
        "amount": 12.5,
        "currency": "EUR",
        "quantity": 2,
        "created_at": "2026-11-03T10:15:00Z",
    }
).encode()


@dataclass(frozen=True)
class MutualTls:
    broker: LocalKafka
    tls: TlsFiles  # the broker's CA: it signs the broker's certificate and trusted clients'
    stranger: TlsFiles  # another CA, trusted by nobody
    trusted: ClientCertificate  # signed by the broker's CA
    untrusted: ClientCertificate  # signed by the stranger CA


@pytest.fixture(scope="module")
def mtls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MutualTls]:
    root = tmp_path_factory.mktemp("mtls")
    broker, tls = secure_local_kafka(root, {}, client_certificates=True)
    assert tls is not None
    stranger = make_tls_files(root / "stranger", ca_name="a stranger CA")
    trusted = make_client_certificate(root / "clients", tls, "trusted")
    untrusted = make_client_certificate(root / "clients", stranger, "untrusted")
    with broker:
        yield MutualTls(broker, tls, stranger, trusted, untrusted)


def _source(broker: LocalKafka, topic: str) -> None:
    """Two records (one valid, one not) on the PLAINTEXT listener, for the guard to route."""
    ensure_topics(KafkaSettings(bootstrap_servers=broker.bootstrap_servers), {topic: 1})
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    producer.send(topic, key=b"good", value=GOOD)
    producer.send(topic, key=b"bad", value=b"{not json")
    producer.flush(timeout=30)
    producer.close(timeout=10)


def _run(
    tmp_path: Path, env: dict[str, str], kafka: dict[str, Any], topic: str, *args: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    """`guard run` with the default request timeout (30 s), so a retried timeout would show;
    returns the process and its wall time (printed for docs/reliability.md, not asserted)."""
    path = tmp_path / "guard.yaml"
    config = {"kafka": kafka, "schemas_dir": str(SCHEMAS), "topics": {topic: {"subject": "orders"}}}
    path.write_text(json.dumps(config), encoding="utf-8")
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "guard", "run", "-c", str(path), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    return proc, time.monotonic() - started


def _ssl_settings(broker: LocalKafka, cafile: Path, cert: ClientCertificate) -> dict[str, Any]:
    return {
        "bootstrap_servers": broker.listener_bootstrap("SSL"),
        "security_protocol": "SSL",
        "ssl_cafile": str(cafile),
        "ssl_certfile": str(cert.certfile),
        "ssl_keyfile": str(cert.keyfile),
    }


def _ssl(mtls: MutualTls, client: str, cafile: Path, cert: ClientCertificate) -> dict[str, Any]:
    return {"client": client, **_ssl_settings(mtls.broker, cafile, cert)}


def _rejected_and_named(proc: subprocess.CompletedProcess[str], key: str) -> str:
    """Exit 3 on the handshake's verdict naming the key to fix, not on a retried timeout."""
    assert proc.returncode == 3, proc.stderr[-3000:]
    fatal = json.loads(proc.stderr.strip().splitlines()[-1])
    error = fatal["error"]
    assert fatal["event"] == "fatal" and "authentication failed" in error, error
    assert "TLS handshake" in error and key in error, error
    assert "_TIMED_OUT" not in error and "outage_budget_s" not in error, error
    return str(error)


def _print_figure(
    case: str, client: str, took: float, proc: subprocess.CompletedProcess[str], error: str
) -> None:
    """Wall time from spawning the child, and from its first log line to its fatal one (the
    guard's own clock: interpreter start-up excluded, which a loaded machine stretches)."""
    stamps = [
        dt.datetime.fromisoformat(json.loads(line)["timestamp"])
        for line in proc.stderr.splitlines()
        if line.startswith("{") and '"timestamp"' in line
    ]
    logged = (stamps[-1] - stamps[0]).total_seconds()
    print(
        f"{case} ({client}): exit 3 after {took:.1f} s ({logged:.1f} s from the first log "
        f"line), {len(proc.stderr.splitlines())} log lines: {error}"
    )


def test_a_client_certificate_signed_by_the_brokers_ca_routes_records(
    mtls: MutualTls,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    topic = unique("orders")
    _source(mtls.broker, topic)
    kafka = {**_ssl(mtls, kafka_client, mtls.tls.ca_pem, mtls.trusted), "group_id": unique("g")}
    # Ends at the second record; the idle timeout only bounds a run that never gets them (a
    # TLS join and first fetch took over 20 s once, with three test workers on two cores).
    proc, _ = _run(
        tmp_path, subprocess_env, kafka, topic, "--max-records", "2", "--idle-timeout", "120"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '"stopped_by": "max-records"' in proc.stdout, proc.stderr[-3000:]
    bootstrap = mtls.broker.bootstrap_servers
    assert [r.key for r in read_topic(bootstrap, f"{topic}.valid")] == [b"good"]
    assert [r.key for r in read_topic(bootstrap, f"{topic}.quarantine")] == [b"bad"]


def test_a_client_that_does_not_trust_the_brokers_ca_exits_3_naming_the_tls_handshake(
    mtls: MutualTls,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    topic = unique("orders")
    _source(mtls.broker, topic)
    kafka = _ssl(mtls, kafka_client, mtls.stranger.ca_pem, mtls.trusted)
    proc, took = _run(tmp_path, subprocess_env, kafka, topic, "--idle-timeout", "5")
    error = _rejected_and_named(proc, "ssl_cafile")
    _print_figure("untrusted broker CA", kafka_client, took, proc, error)


def test_a_client_certificate_the_broker_rejects_exits_3_naming_the_tls_handshake(
    mtls: MutualTls,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    topic = unique("orders")
    _source(mtls.broker, topic)
    kafka = _ssl(mtls, kafka_client, mtls.tls.ca_pem, mtls.untrusted)
    proc, took = _run(tmp_path, subprocess_env, kafka, topic, "--idle-timeout", "5")
    error = _rejected_and_named(proc, "ssl_certfile")
    _print_figure("rejected client certificate", kafka_client, took, proc, error)


def test_a_tls_guard_retries_through_a_broker_stopped_and_started_in_place(
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    """The other side of the classification: the TLS connections a stopping broker breaks
    (closed mid-session, refused, cut mid-handshake) are an outage, retried, not a rejected
    login; the guard carries on once the broker is back and stops with exit 0."""
    root = tmp_path / "broker"
    broker, tls = secure_local_kafka(root, {}, client_certificates=True)
    assert tls is not None
    cert = make_client_certificate(root / "clients", tls, "trusted")
    with broker:
        bootstrap, source, group = broker.bootstrap_servers, unique("orders"), unique("group")
        create(bootstrap, source, 3)
        produce(bootstrap, source, 1000, partitions=3)
        kafka = {
            **_ssl_settings(broker, tls.ca_pem, cert),
            "instance_id": "tls",
            "session_timeout_ms": 30000,  # longer than the outage: no fencing in the way
        }
        config = write_config(
            tmp_path, bootstrap, source, group, kafka_client, kafka_extra=kafka,
            retry={"outage_budget_s": 300, "max_attempts": 1000},
            service={"stall_timeout_s": 300},
        )  # fmt: skip
        guard = GuardProcess(config, subprocess_env, "tls-outage")
        guard.wait_for_commits(1)
        broker.stop_in_place()
        guard_log = guard.log
        deadline = time.monotonic() + 120
        while "transient broker failure" not in guard_log.read_text(errors="replace"):
            assert guard.proc.poll() is None, guard_log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the guard never saw the outage"
            time.sleep(0.2)
        broker.start()
        produce(bootstrap, source, 1000, partitions=3, start=1000)
        wait_caught_up(bootstrap, group, source, 300, guard)
        summary = guard.terminate(timeout=120)  # asserts exit 0
        text = guard_log.read_text(errors="replace")
        assert summary["stopped_by"] == "SIGTERM"
        assert "authentication failed" not in text and "TLS handshake failed" not in text
