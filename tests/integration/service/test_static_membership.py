"""Static group membership: an instance restarted after a crash gets its partitions back at
once, not after the session timeout (a dynamic member waits for the dead one to expire)."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaProducer

from guard.config import KafkaSettings
from guard.demo.samples import sample_stream
from guard.localbroker import LocalKafka
from guard.transport.factory import ensure_topics
from tests.fixtures.configs import guard_config, write_config
from tests.fixtures.guard_process import GuardProcess

pytestmark = pytest.mark.integration

# Long, so a first commit well before it can only come from taking over the static membership
# (a dynamic successor waits for the session to expire), even on a busy machine.
SESSION_TIMEOUT_MS = 120_000


def test_a_restarted_instance_gets_records_well_before_the_session_timeout(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), {source: 3})
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i, s in enumerate(sample_stream(600, bad_share=0.2, seed=3, large_bytes=20_000)):
        producer.send(source, key=s.key, value=s.value, headers=s.headers, partition=i % 3)
    producer.flush(timeout=60)
    producer.close(timeout=10)
    kafka = {"session_timeout_ms": SESSION_TIMEOUT_MS, "request_timeout_ms": 15000}
    config = write_config(
        tmp_path / "guard.yaml",
        guard_config(
            bootstrap, source, unique("group"), kafka_client, kafka=kafka,
            batch={"max_records": 5, "poll_timeout_ms": 200}, log={"level": "DEBUG"},
        ),
    )  # fmt: skip
    env = {**subprocess_env, "GUARD_KAFKA__INSTANCE_ID": "solo"}
    crashed = GuardProcess(config, env, "crashed")
    crashed.wait_for_commits(2)
    crashed.kill()  # no leave-group: a dynamic successor would wait for this member to expire

    started = time.monotonic()
    restarted = GuardProcess(config, env, "restarted")
    restarted.wait_for_commits(1, timeout=SESSION_TIMEOUT_MS / 1000)
    took = time.monotonic() - started
    restarted.proc.send_signal(signal.SIGTERM)
    restarted.finish(timeout=60)
    assert took < SESSION_TIMEOUT_MS / 1000 / 3, f"first commit after {took:.1f}s"
