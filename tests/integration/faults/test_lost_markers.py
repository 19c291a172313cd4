"""A transaction the broker acknowledged but whose markers it never wrote (a broker stopped
just after a commit, guard/transport/lost_commit.py) leaves the group's offsets unstable and
its records open for good: the guard aborts it everywhere and processes its batch again, on
both transports, with every input exactly once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from guard.localbroker import LocalKafka
from tests.fixtures.guard_process import GuardProcess
from tests.integration.faults.harness import wait_caught_up
from tests.integration.faults.lost_markers import BROKER_PROPERTIES, stage_lost_transaction
from tests.integration.service.kafka_helpers import (
    assert_each_offset_once,
    create,
    produce,
    write_config,
)

pytestmark = pytest.mark.integration

PARTITIONS = 2


def test_a_transaction_left_without_markers_is_aborted_everywhere_and_its_batch_redone(
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    with LocalKafka(extra_properties=BROKER_PROPERTIES) as broker:
        bootstrap, source, group = broker.bootstrap_servers, unique("orders"), unique("group")
        valid = f"{source}.valid"
        for topic in (source, valid, f"{source}.quarantine"):
            create(bootstrap, topic, PARTITIONS)
        placed = produce(bootstrap, source, 200, partitions=PARTITIONS)
        # The lost transaction, under the guard's own transactional id ({group}-{instance_id}):
        # partition 0's offset moved to 20, and a copy of an input in each valid partition.
        # Completed as committed, inputs 0-19 of partition 0 would be skipped; left open, the
        # copies would be committed by the guard's next transaction there: either way an
        # input would not land exactly once.
        copies = [(valid, p, placed[(p, 0)].key, b"lost") for p in range(PARTITIONS)]
        stage_lost_transaction(bootstrap, f"{group}-lost", group, {(source, 0): 20}, copies)
        config = write_config(
            tmp_path, bootstrap, source, group, kafka_client, kafka_extra={"instance_id": "lost"}
        )
        guard = GuardProcess(config, subprocess_env, "lost-transaction")
        wait_caught_up(bootstrap, group, source, 240, guard)
        summary = guard.terminate(timeout=120)  # asserts exit 0
        assert summary["stopped_by"] == "SIGTERM"
        assert "aborting a transaction of this producer" in guard.log.read_text(errors="replace")
        assert_each_offset_once(bootstrap, source, placed, kafka_client)
