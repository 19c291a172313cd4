"""No silent idle on the real broker: a guard whose static group membership is taken over
(fenced, as after a broker outage longer than the session timeout) replaces its clients and
rejoins, and processes every record once; it does not sit with no partitions while healthy."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Consumer

from guard.localbroker import LocalKafka
from tests.fixtures.guard_process import GuardProcess
from tests.integration.faults.harness import wait_caught_up
from tests.integration.service.kafka_helpers import (
    assert_each_offset_once,
    create,
    produce,
    write_config,
)

pytestmark = pytest.mark.integration

INSTANCE = "solo"


def _take_over_membership(bootstrap: str, group: str, source: str) -> None:
    """Join `group` as static member INSTANCE (the guard's group.instance.id): the broker hands
    the member's partitions to this consumer and fences the guard's. Leaves without leaving
    the group (a static member's close does not), as a stale member would."""
    intruder = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "group.instance.id": INSTANCE,
            "session.timeout.ms": 6000,
            "enable.auto.commit": False,
        }
    )
    try:
        intruder.subscribe([source])
        deadline = time.monotonic() + 60
        while not intruder.assignment():
            assert time.monotonic() < deadline, "the intruder never got the partitions"
            intruder.poll(0.2)
    finally:
        intruder.close()


def test_a_fenced_static_member_rejoins_and_processes_every_record_once(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    bootstrap, source, group = kafka.bootstrap_servers, unique("orders"), unique("group")
    create(bootstrap, source, 3)
    placed = produce(bootstrap, source, 600, partitions=3)
    config = write_config(
        tmp_path,
        bootstrap,
        source,
        group,
        kafka_client,
        kafka_extra={"instance_id": INSTANCE, "session_timeout_ms": 6000},
        batch={"max_records": 5, "poll_timeout_ms": 200},
        metrics={"port": 0, "stall_seconds": 20, "ready_seconds": 10, "lag_seconds": 1},
    )
    guard = GuardProcess(config, subprocess_env, "guard")
    guard.wait_for_commits(2)
    _take_over_membership(bootstrap, group, source)
    took = wait_caught_up(bootstrap, group, source, 300, guard)
    text = guard.log.read_text()
    summary = guard.terminate()  # exit 0: it went on by itself
    assert "rejoining the group with new clients" in text, text[-3000:]
    assert summary["records"] >= len(placed)
    assert_each_offset_once(bootstrap, source, placed, kafka_client)
    print(f"fenced static member ({kafka_client}): caught up {took:.1f} s after the take-over")
