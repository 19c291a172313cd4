"""`guard config check`: config and contracts without a broker; --connect bounded in time."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from guard.cli.main import cli
from tests.fixtures.paths import SCHEMAS

PASSWORD = "hunter2-Secret"


def _check(tmp_path: Path, config: dict[str, Any], *args: str) -> Result:
    path = tmp_path / "guard.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return CliRunner().invoke(cli, ["config", "check", "-c", str(path), *args], env={})


def _config(**over: Any) -> dict[str, Any]:
    return {"schemas_dir": str(SCHEMAS), "topics": {"orders": {"subject": "orders"}}, **over}


def test_a_valid_config_passes_without_touching_the_broker(tmp_path: Path) -> None:
    kafka = {"bootstrap_servers": "127.0.0.1:1"}  # nothing listens there
    result = _check(tmp_path, _config(kafka=kafka))
    assert result.exit_code == 0, result.output
    assert "ok   route orders -> orders (contract versions [1, 2])" in result.output


def test_a_metrics_port_in_use_fails_the_check(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _check(tmp_path, _config(metrics={"port": port}))
        assert result.exit_code == 2, result.output
        assert f"FAIL metrics.port: cannot listen on 127.0.0.1:{port}: " in result.output
    result = _check(tmp_path, _config(metrics={"port": port}))  # released: free again
    assert result.exit_code == 0, result.output
    assert f"ok   metrics 127.0.0.1:{port} free" in result.output


def test_every_config_problem_is_listed_at_once_with_exit_2(tmp_path: Path) -> None:
    result = _check(tmp_path, _config(batch={"max_records": 0}, log={"level": "LOUD"}))
    assert result.exit_code == 2
    assert "batch.max_records" in result.output and "log.level" in result.output


def test_an_unknown_subject_or_version_is_a_config_problem(tmp_path: Path) -> None:
    result = _check(
        tmp_path, _config(topics={"t": {"subject": "orders", "accepted_versions": [9]}})
    )
    assert result.exit_code == 2 and "9" in result.output


def test_the_password_never_appears_in_the_output(tmp_path: Path) -> None:
    kafka = {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAN",
        "sasl_plain_username": "u",
        "sasl_plain_password": PASSWORD,
    }
    broken = _check(tmp_path, _config(kafka=kafka))
    assert broken.exit_code == 2 and "kafka.sasl_mechanism" in broken.output
    fine = _check(tmp_path, _config(kafka={**kafka, "sasl_mechanism": "PLAIN"}))
    assert fine.exit_code == 0
    assert PASSWORD not in broken.output + fine.output


def test_connect_to_an_unreachable_broker_exits_3_within_the_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    result = _check(
        tmp_path, _config(kafka={"bootstrap_servers": "127.0.0.1:1"}), "--connect", "--timeout", "1"
    )
    assert result.exit_code == 3, result.output
    assert time.monotonic() - started < 15
    assert "error: broker: connect" in result.output


@pytest.mark.parametrize(
    ("client", "props", "refusal"),
    [
        ("kafka-python", {"linger": 5}, "kafka-python has no producer property 'linger'"),
        ("confluent", {"linger.ms": 5}, "producer property 'linger.ms': use the setting kafka."),
    ],
)
def test_a_pass_through_property_the_client_refuses_fails_the_check_with_exit_2(
    tmp_path: Path, client: str, props: dict[str, int], refusal: str
) -> None:
    kafka = {"client": client, "bootstrap_servers": "127.0.0.1:1", "producer_properties": props}
    result = _check(tmp_path, _config(kafka=kafka))
    assert result.exit_code == 2, result.output
    assert f"kafka.producer_properties: {refusal}" in result.output
    assert "ok   config" not in result.output


def test_a_missing_tls_file_named_by_a_pass_through_property_fails_the_check_with_exit_2(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "missing-ca.pem"
    kafka = {
        "client": "confluent",
        "security_protocol": "SSL",
        "consumer_properties": {"ssl.ca.location": str(missing)},
    }
    result = _check(tmp_path, _config(kafka=kafka))
    assert result.exit_code == 2, result.output
    assert f"kafka.consumer_properties.ssl.ca.location: no such file: {missing}" in result.output
