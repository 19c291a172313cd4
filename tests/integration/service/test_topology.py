"""Output topics that change under a running `guard run`: deleted, re-created smaller."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka.admin import KafkaAdminClient, NewPartitions

from guard.localbroker import LocalKafka
from tests.fixtures.guard_process import GuardProcess
from tests.integration.service.kafka_helpers import (
    create,
    landed_offsets,
    outputs,
    produce,
    write_config,
)

pytestmark = pytest.mark.integration


def _recreate_smaller(bootstrap: str, topic: str, partitions: int) -> None:
    """Delete `topic` and create it again with fewer partitions (what a broker with topic
    auto-creation does by itself when a producer writes to a deleted topic)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    try:
        admin.delete_topics([topic], timeout_ms=15000)
        deadline = time.monotonic() + 30
        while True:
            try:
                admin.create_topics(
                    {topic: {"num_partitions": partitions, "replication_factor": -1}},
                    timeout_ms=15000,
                )
                return
            except Exception:  # still being deleted, or already auto-created by the guard
                if topic in admin.list_topics() and time.monotonic() > deadline - 25:
                    return
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        admin.close()


def test_a_quarantine_topic_deleted_and_recreated_smaller_mid_run_is_reread(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    for topic in (source, f"{source}.valid", f"{source}.quarantine"):
        create(bootstrap, topic, 3)
    placed = produce(bootstrap, source, 900, partitions=3)
    # The guard creates nothing itself here: the re-created topic keeps its single partition.
    config = write_config(
        tmp_path,
        bootstrap,
        source,
        unique("group"),
        kafka_client,
        # Short timeouts: recovering waits out a flush and an abort to the deleted topic.
        kafka_extra={"create_topics": False, "request_timeout_ms": 5000},
        batch={"max_records": 10, "poll_timeout_ms": 200},
    )
    guard = GuardProcess(config, subprocess_env, "topology", "--idle-timeout", "20")
    guard.wait_for_commits(5)
    _recreate_smaller(bootstrap, f"{source}.quarantine", 1)
    # More records after the change, so the guard must write to the re-created topic however
    # far it had got through the first ones (on a fast run it may already be idle).
    placed |= produce(bootstrap, source, 300, partitions=3, start=900)
    summary = guard.finish()  # exit 0: the run completed, no internal error
    assert "output topic partitions changed" in guard.log.read_text(), "the change was seen"

    valid, quarantined = outputs(bootstrap, source, kafka_client)
    landed = landed_offsets(placed, valid, quarantined)
    assert [pos for pos, n in landed.items() if n != 1] == [], "nothing appears twice"
    assert {r.partition for r in quarantined} == {0}, "the re-created topic has one partition"
    # Quarantine copies committed before the deletion went with the topic; valid records are
    # all in the clean topic. So per source partition, the inputs not in the clean topic must
    # be in the quarantine topic from some offset on to the end: nothing missing after the
    # deletion point.
    in_clean = landed_offsets(placed, valid, [])
    missing = set(placed) - set(landed)
    for partition in range(3):
        bad = sorted(o for (p, o) in placed if p == partition and (p, o) not in in_clean)
        kept = [o for o in bad if (partition, o) in landed]
        assert kept and kept == bad[len(bad) - len(kept) :], f"partition {partition}: a suffix"
    assert summary["records"] >= len(placed) - len(missing)
    print(f"quarantine copies gone with the deleted topic: {len(missing)} of {len(placed)} inputs")


# How often each client looks for new partitions of its subscription (both default to 5 min).
_METADATA_REFRESH = {
    "kafka-python": {"metadata_max_age_ms": 1000},
    "confluent": {"topic.metadata.refresh.interval.ms": 1000},
}


def test_partitions_added_to_the_source_mid_run_are_read_from_their_start_exactly_once(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    create(bootstrap, source, 2)
    placed = produce(bootstrap, source, 600, partitions=2)
    config = write_config(
        tmp_path,
        bootstrap,
        source,
        unique("group"),
        kafka_client,
        kafka_extra={"consumer_properties": _METADATA_REFRESH[kafka_client]},
    )
    total = 600 + 600
    guard = GuardProcess(
        config, subprocess_env, "grown", "--max-records", str(total), "--idle-timeout", "120"
    )
    guard.wait_for_commits(3)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    try:
        admin.create_partitions({source: NewPartitions(total_count=4)})
    finally:
        admin.close()
    # Round robin over all four: the new partitions 2 and 3 get a quarter each, written
    # before the guard has seen them, so only reading them from their start finds these.
    placed |= produce(bootstrap, source, 600, partitions=4, start=600)
    assert {p for p, _ in placed} == {0, 1, 2, 3}
    summary = guard.finish()
    assert summary["records"] == total, summary

    valid, quarantined = outputs(bootstrap, source, kafka_client)
    landed = landed_offsets(placed, valid, quarantined)
    missing = sorted(set(placed) - set(landed))
    assert not missing, f"missing {len(missing)}: {missing[:10]}"
    assert [pos for pos, n in landed.items() if n != 1] == [], "nothing appears twice"
