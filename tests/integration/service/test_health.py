"""/healthz on the real broker: healthy while idle on a live broker, 503 once it is stopped."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from guard.config import KafkaSettings
from guard.localbroker import LocalKafka
from guard.localbroker.broker import free_port
from guard.transport.kafka_python.admin import ensure_topics
from tests.fixtures.configs import guard_config, write_config
from tests.fixtures.guard_process import GuardProcess

pytestmark = pytest.mark.integration


def _code(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0


def _until(check: Callable[[], bool], guard: GuardProcess, timeout: float) -> float:
    started = time.monotonic()
    while not check():
        if guard.proc.poll() is not None:
            pytest.fail(f"guard exited: {guard.log.read_text()[-1500:]}")
        if time.monotonic() - started > timeout:
            pytest.fail(f"timed out; log tail: {guard.log.read_text()[-1500:]}")
        time.sleep(0.2)
    return time.monotonic() - started


def test_healthz_fails_when_the_broker_stops(
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    with LocalKafka() as broker:  # a broker of its own: this test stops it
        source = unique("orders")
        ensure_topics(KafkaSettings(bootstrap_servers=broker.bootstrap_servers), {source: 1})
        port = free_port()
        kafka = {"request_timeout_ms": 3000, "transaction_timeout_ms": 10000}
        metrics = {"port": port, "stall_seconds": 4, "ready_seconds": 4, "lag_seconds": 0.5}
        config = write_config(
            tmp_path / "guard.yaml",
            guard_config(
                broker.bootstrap_servers, source, unique("group"), kafka_client, kafka=kafka,
                batch={"poll_timeout_ms": 200}, metrics=metrics,
            ),
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        guard = GuardProcess(config, subprocess_env, "guard")
        try:
            _until(lambda: _code(f"{url}/readyz") == 200, guard, 90)
            time.sleep(5)  # longer than stall_seconds: a quiet stream stays healthy
            assert _code(f"{url}/healthz") == 200
            broker.stop()
            _until(lambda: _code(f"{url}/healthz") == 503, guard, 60)
            assert _code(f"{url}/readyz") == 503
        finally:
            guard.proc.terminate()
            guard.proc.wait(60)
