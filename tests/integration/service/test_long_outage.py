"""A broker stopped for longer than the session timeout and started in place under a running
guard (issue 15's silent idle: the confluent guard was fenced, sat with no partitions and lag
while /healthz said 200). The guard must resume by itself -- rejoining when fenced -- finish
every record once, say healthy with no lag at the end, and stop with exit 0."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from guard.localbroker import LocalKafka
from guard.localbroker.broker import free_port
from tests.fixtures.guard_process import GuardProcess
from tests.integration.faults.harness import wait_caught_up
from tests.integration.service.kafka_helpers import (
    assert_each_offset_once,
    create,
    produce,
    write_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

SESSION_TIMEOUT_MS = 6000  # the broker's minimum: the outage below outlasts it


def _healthz(port: int) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            return int(resp.status), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_a_broker_down_longer_than_the_session_timeout_is_resumed_from_without_idling(
    private_kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    bootstrap, source, group = private_kafka.bootstrap_servers, unique("orders"), unique("group")
    create(bootstrap, source, 3)
    placed = produce(bootstrap, source, 3000, partitions=3)
    port = free_port()
    config = write_config(
        tmp_path,
        bootstrap,
        source,
        group,
        kafka_client,
        kafka_extra={"instance_id": "solo", "session_timeout_ms": SESSION_TIMEOUT_MS},
        metrics={"port": port, "stall_seconds": 20, "ready_seconds": 10, "lag_seconds": 1},
    )
    guard = GuardProcess(config, subprocess_env, "guard")
    guard.wait_for_commits(3)
    private_kafka.stop_in_place()
    # The outage must outlast the session timeout (the broker then expires the member); the
    # in-place restart alone takes longer on this machine, the wait makes sure.
    time.sleep(2 * SESSION_TIMEOUT_MS / 1000)
    private_kafka.start()
    back = time.monotonic()
    took = wait_caught_up(bootstrap, group, source, 300, guard)  # fails if the guard exits
    code, health = _healthz(port)
    deadline = time.monotonic() + 60
    while (code, health.get("lag")) != (200, 0) and time.monotonic() < deadline:
        time.sleep(0.5)  # the next lag read (every second) sees the group caught up
        code, health = _healthz(port)
    assert (code, health.get("lag")) == (200, 0), health
    text = guard.log.read_text()
    summary = guard.terminate()  # exit 0
    assert summary["stopped_by"] == "SIGTERM"
    assert "watchdog" not in text
    assert_each_offset_once(bootstrap, source, placed, kafka_client)
    rejoins = text.count("rejoining the group with new clients")
    print(
        f"long outage ({kafka_client}): caught up {took:.1f} s after the broker was back, "
        f"{rejoins} rejoin(s); {time.monotonic() - back:.1f} s to the end of the check"
    )
