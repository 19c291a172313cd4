"""SASL (SCRAM-SHA-512, PLAIN) and TLS against a real broker started with those listeners:
right credentials route records end to end, wrong ones fail fast with a clear error, and the
password never appears in any output."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from guard.config import KafkaSettings
from guard.localbroker import LocalKafka
from guard.localbroker.security import TlsFiles, secure_local_kafka
from guard.transport.kafka_python.admin import ensure_topics
from guard.verify import read_topic
from tests.fixtures.paths import SCHEMAS

# One xdist group: the SASL/TLS broker is a module fixture, which every worker taking one of these
# tests would otherwise build again.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("sasl-tls-broker")]

USER, PASSWORD = "guard", "s3cret-Pa55word"
READER, READER_PASSWORD = "reader", "r3ader-Pa55word"  # may log in, has no ACLs
WRONG = "not-the-Pa55word"
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


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalKafka, TlsFiles]]:
    broker, tls = secure_local_kafka(
        tmp_path_factory.mktemp("secure"),
        {USER: PASSWORD, READER: READER_PASSWORD},
        super_users=[USER],
    )
    assert tls is not None
    with broker:
        yield broker, tls


def _source(broker: LocalKafka, topic: str) -> None:
    """Two records (one valid, one not) on the PLAINTEXT listener, for the guard to route."""
    ensure_topics(KafkaSettings(bootstrap_servers=broker.bootstrap_servers), {topic: 1})
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    producer.send(topic, key=b"good", value=GOOD)
    producer.send(topic, key=b"bad", value=b"{not json")
    producer.flush(timeout=30)
    producer.close(timeout=10)


def _config(tmp_path: Path, kafka: dict[str, Any], topic: str, group: str) -> Path:
    path = tmp_path / "guard.yaml"
    kafka = {
        "group_id": group,
        "request_timeout_ms": 5000,
        "transaction_timeout_ms": 20000,
        **kafka,
    }
    config = {"kafka": kafka, "schemas_dir": str(SCHEMAS), "topics": {topic: {"subject": "orders"}}}
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def _guard(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guard", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


def _sasl(broker: LocalKafka, mechanism: str) -> dict[str, Any]:
    return {
        "bootstrap_servers": broker.listener_bootstrap("SASL_PLAINTEXT"),
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": USER,
    }


def _routes_both_records(
    broker: LocalKafka, topic: str, proc: subprocess.CompletedProcess[str]
) -> None:
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (summary["valid"], summary["quarantined"]) == (1, 1)
    assert [r.key for r in read_topic(broker.bootstrap_servers, f"{topic}.valid")] == [b"good"]
    assert [r.key for r in read_topic(broker.bootstrap_servers, f"{topic}.quarantine")] == [b"bad"]


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "PLAIN"])
def test_right_sasl_credentials_route_records_end_to_end(
    secure: tuple[LocalKafka, TlsFiles],
    mechanism: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    broker, _ = secure
    topic = unique("orders")
    _source(broker, topic)
    config = _config(tmp_path, _sasl(broker, mechanism), topic, unique("group"))
    env = {**subprocess_env, "GUARD_KAFKA__SASL_PLAIN_PASSWORD": PASSWORD}
    proc = _guard(env, "run", "-c", str(config), "--max-records", "2", "--idle-timeout", "120")
    _routes_both_records(broker, topic, proc)
    assert PASSWORD not in proc.stdout + proc.stderr


def test_tls_with_a_ca_generated_at_test_time_routes_records(
    secure: tuple[LocalKafka, TlsFiles],
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    broker, tls = secure
    topic = unique("orders")
    _source(broker, topic)
    kafka = {
        "bootstrap_servers": broker.listener_bootstrap("SSL"),
        "security_protocol": "SSL",
        "ssl_cafile": str(tls.ca_pem),
    }
    config = _config(tmp_path, kafka, topic, unique("group"))
    proc = _guard(
        subprocess_env, "run", "-c", str(config), "--max-records", "2", "--idle-timeout", "120"
    )
    _routes_both_records(broker, topic, proc)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "PLAIN"])
def test_a_wrong_password_exits_3_naming_authentication_with_a_secret_free_error(
    secure: tuple[LocalKafka, TlsFiles],
    mechanism: str,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    """Both clients: the rejected login is the error (not a timeout, not a retried outage),
    and with the default request timeout (30 s), so a retried timeout would show. The time
    is printed for docs/reliability.md, not asserted (it depends on the machine)."""
    broker, _ = secure
    topic = unique("orders")
    _source(broker, topic)
    kafka = {**_sasl(broker, mechanism), "sasl_plain_password": WRONG, "client": kafka_client}
    config = _config(tmp_path, kafka, topic, "g")
    settings = json.loads(config.read_text())
    del settings["kafka"]["request_timeout_ms"], settings["kafka"]["transaction_timeout_ms"]
    config.write_text(json.dumps(settings), encoding="utf-8")
    started = time.monotonic()
    proc = _guard(subprocess_env, "run", "-c", str(config), "--idle-timeout", "5")
    took = time.monotonic() - started
    assert proc.returncode == 3, proc.stderr[-2000:]
    fatal = json.loads(proc.stderr.strip().splitlines()[-1])
    assert fatal["event"] == "fatal" and "authentication failed" in fatal["error"]
    assert "_TIMED_OUT" not in fatal["error"] and "outage_budget_s" not in fatal["error"]
    assert WRONG not in proc.stdout + proc.stderr
    lines = len(proc.stderr.splitlines())
    print(f"wrong {mechanism} password ({kafka_client}): exit 3 after {took:.1f} s, {lines} lines")


def test_config_check_connects_with_sasl_and_never_prints_the_password(
    secure: tuple[LocalKafka, TlsFiles],
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    broker, _ = secure
    topic = unique("orders")
    _source(broker, topic)
    kafka = {**_sasl(broker, "SCRAM-SHA-512"), "sasl_plain_password": PASSWORD}
    config = _config(tmp_path, kafka, topic, unique("group"))
    offline = _guard(subprocess_env, "config", "check", "-c", str(config))
    online = _guard(subprocess_env, "config", "check", "-c", str(config), "--connect")
    assert offline.returncode == 0 and online.returncode == 0, online.stdout + online.stderr
    assert f"ok   source topic {topic}: 1 partition(s)" in online.stdout
    assert "ok   transactions" in online.stdout
    for proc in (offline, online):
        assert PASSWORD not in proc.stdout + proc.stderr


def test_config_check_with_a_wrong_password_exits_3_fast_without_the_password(
    secure: tuple[LocalKafka, TlsFiles], tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    broker, _ = secure
    kafka = {**_sasl(broker, "SCRAM-SHA-512"), "sasl_plain_password": WRONG}
    config = _config(tmp_path, kafka, "orders", "g")
    started = time.monotonic()
    proc = _guard(
        subprocess_env, "config", "check", "-c", str(config), "--connect", "--timeout", "3"
    )
    # Fast means named at once, not after retrying into the 60 s outage budget.
    assert proc.returncode == 3 and time.monotonic() - started < 55
    assert "authentication failed" in proc.stderr
    assert WRONG not in proc.stdout + proc.stderr


def test_config_check_reports_missing_permissions_and_exits_2(
    secure: tuple[LocalKafka, TlsFiles],
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    broker, _ = secure
    topic = unique("orders")
    _source(broker, topic)
    kafka = {
        **_sasl(broker, "SCRAM-SHA-512"),
        "sasl_plain_username": READER,
        "sasl_plain_password": READER_PASSWORD,
    }
    config = _config(tmp_path, kafka, topic, unique("group"))
    proc = _guard(subprocess_env, "config", "check", "-c", str(config), "--connect")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"FAIL source topic {topic}: not authorized to describe it" in proc.stdout
    assert "FAIL consumer group: not authorized" in proc.stdout
    assert "FAIL transactions: not authorized" in proc.stdout
    assert READER_PASSWORD not in proc.stdout + proc.stderr


def test_run_without_permissions_exits_3_fast_naming_the_authorization_error(
    secure: tuple[LocalKafka, TlsFiles],
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    broker, _ = secure
    topic = unique("orders")
    _source(broker, topic)
    kafka = {**_sasl(broker, "PLAIN"), "sasl_plain_username": READER}
    config = _config(tmp_path, kafka, topic, unique("group"))
    env = {**subprocess_env, "GUARD_KAFKA__SASL_PLAIN_PASSWORD": READER_PASSWORD}
    started = time.monotonic()
    proc = _guard(env, "run", "-c", str(config), "--idle-timeout", "5")
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert time.monotonic() - started < 55  # not retried into the 60 s outage budget
    fatal = json.loads(proc.stderr.strip().splitlines()[-1])
    assert "AuthorizationFailed" in fatal["error"]
    assert READER_PASSWORD not in proc.stdout + proc.stderr
