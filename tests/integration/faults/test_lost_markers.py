"""A transaction the broker acknowledged but whose markers it never wrote (a broker stopped
just after a commit, guard/transport/lost_commit.py) leaves the group's offsets unstable for
good: the guard completes it with a transaction of offsets alone and resumes where that
transaction left off, on both transports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from guard.localbroker import LocalKafka
from tests.fixtures.guard_process import GuardProcess
from tests.integration.faults.harness import wait_caught_up
from tests.integration.faults.lost_markers import BROKER_PROPERTIES, stage_lost_commit
from tests.integration.service.kafka_helpers import (
    assert_each_offset_once,
    create,
    produce,
    write_config,
)

pytestmark = pytest.mark.integration

LOST_UP_TO = 20  # the lost transaction had committed partition 0 up to here


def test_offsets_left_unstable_by_a_lost_commit_are_completed_and_resumed_from(
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    with LocalKafka(extra_properties=BROKER_PROPERTIES) as broker:
        bootstrap, source, group = broker.bootstrap_servers, unique("orders"), unique("group")
        create(bootstrap, source, 2)
        placed = produce(bootstrap, source, 200, partitions=2)
        # Offsets of the guard's own transactional id ({group}-{instance_id}), with no marker.
        stage_lost_commit(bootstrap, f"{group}-lost", group, {(source, 0): LOST_UP_TO})
        config = write_config(
            tmp_path, bootstrap, source, group, kafka_client, kafka_extra={"instance_id": "lost"}
        )
        guard = GuardProcess(config, subprocess_env, "lost-commit")
        wait_caught_up(bootstrap, group, source, 240, guard)
        summary = guard.terminate(timeout=120)  # asserts exit 0
        assert summary["stopped_by"] == "SIGTERM"
        assert "committing offsets alone" in guard.log.read_text(errors="replace")
        # Partition 0 resumed at the lost transaction's offset: what it covered is not redone.
        done = {(0, offset) for offset in range(LOST_UP_TO)}
        assert_each_offset_once(bootstrap, source, placed, kafka_client, gone=done)
