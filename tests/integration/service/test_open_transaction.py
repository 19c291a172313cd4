"""A partition whose committed offset is held by a dead member's open transaction.

A member killed between sending its offsets to the transaction and committing it leaves the
group's offset for that partition *unstable* until the broker aborts the transaction. The
survivor that takes the partition over cannot fetch a position for it until then. CI once
saw `guard run` end with exit 4 right there: the lag probe subtracted a missing position.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from guard.config import KafkaSettings
from guard.localbroker import LocalKafka
from tests.fixtures.guard_process import GuardProcess
from tests.integration.service.kafka_helpers import (
    assert_each_offset_once,
    create,
    produce,
    write_config,
)

pytestmark = pytest.mark.integration

# The broker looks for timed-out transactions every 10 s (its default), so the dead member's
# transaction is gone 2-12 s after it began.
DEAD_TX_TIMEOUT_MS = 2000


def _die_inside_a_transaction(
    bootstrap: str,
    source: str,
    group: str,
    partition: int,
    transaction_timeout_ms: int = DEAD_TX_TIMEOUT_MS,
) -> None:
    """A member that sends offsets for `partition` to its transaction and dies uncommitted."""
    code = textwrap.dedent(
        f"""
        import os
        from kafka import KafkaProducer, TopicPartition
        from kafka.structs import OffsetAndMetadata
        p = KafkaProducer(bootstrap_servers={bootstrap!r}, transactional_id={group + "-dead"!r},
                          transaction_timeout_ms={transaction_timeout_ms})
        p.init_transactions()
        p.begin_transaction()
        p.send({source + ".valid"!r}, b"never committed", partition={partition}).get(30)
        tp = TopicPartition({source!r}, {partition})
        p.send_offsets_to_transaction({{tp: OffsetAndMetadata(1, "", -1)}}, {group!r})
        os._exit(9)
        """
    )
    subprocess.run([sys.executable, "-c", code], check=False, timeout=120)


def test_a_partition_held_by_a_dead_members_open_transaction_is_taken_over_when_released(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    bootstrap, source, group = kafka.bootstrap_servers, unique("orders"), unique("group")
    _create_topics(bootstrap, source, 3)
    placed = produce(bootstrap, source, 300, partitions=3)
    _die_inside_a_transaction(bootstrap, source, group, partition=2)
    config = write_config(tmp_path, bootstrap, source, group, kafka_client)
    guard = GuardProcess(config, subprocess_env, "survivor")
    # Time for partitions 0 and 1, the abort of the dead transaction, then partition 2.
    _wait_for_records(guard, len(placed), 90, "the dead member's partition")
    guard.terminate()
    assert_each_offset_once(bootstrap, source, placed, kafka_client)


def test_with_the_default_transaction_timeout_a_dead_members_partition_is_processed_again(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    """The same death, with the guard's default `transaction_timeout_ms` (10 s, as Kafka
    Streams): the partition is processed again once the broker aborts the transaction (its
    timeout plus up to 10 s until the broker looks). The time is printed for
    docs/reliability.md, not asserted."""
    bootstrap, source, group = kafka.bootstrap_servers, unique("orders"), unique("group")
    _create_topics(bootstrap, source, 3)
    placed = produce(bootstrap, source, 300, partitions=3)
    default_ms = KafkaSettings().transaction_timeout_ms
    _die_inside_a_transaction(bootstrap, source, group, 2, transaction_timeout_ms=default_ms)
    died = time.monotonic()
    config = write_config(tmp_path, bootstrap, source, group, kafka_client)
    guard = GuardProcess(config, subprocess_env, "survivor")
    _wait_for_records(guard, len(placed), 300, "the dead member's partition was never released")
    took = time.monotonic() - died
    guard.terminate()
    assert_each_offset_once(bootstrap, source, placed, kafka_client)
    print(
        f"dead member's open transaction ({kafka_client}, transaction_timeout_ms={default_ms}): "
        f"its partition processed {took:.1f} s after the death"
    )


def _create_topics(bootstrap: str, source: str, partitions: int) -> None:
    for topic in (source, f"{source}.valid", f"{source}.quarantine"):
        create(bootstrap, topic, partitions)


def _wait_for_records(guard: GuardProcess, n: int, timeout_s: float, what: str) -> None:
    """Until the guard has committed `n` records; fails if it exits or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while (done := _records_done(guard)) < n:
        assert guard.proc.poll() is None, f"the guard exited: {guard.log.read_text()[-2000:]}"
        assert time.monotonic() < deadline, f"{what}: only {done} of {n} records done"
        time.sleep(0.2)


def _records_done(guard: GuardProcess) -> int:
    """Records committed so far, from the `batch committed` lines (log level DEBUG)."""
    total = 0
    for line in guard.log.read_text(errors="replace").splitlines():
        if '"batch committed"' in line:
            total += int(line.split('"records": ', 1)[1].split(",", 1)[0])
    return total


# The broker's sweep for timed-out transactions, made far longer than the test waits: only
# the guard itself can end the dead member's transaction in time.
NO_SWEEP = {"transaction.abort.timed.out.transaction.cleanup.interval.ms": "3600000"}


def test_a_dead_members_transaction_past_its_timeout_is_ended_without_the_brokers_sweep(
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    """The member taking over fences the dead member's transactional id once its transaction
    is past its own timeout (guard/transport/stale_transactions.py), instead of waiting for
    the broker to sweep it (every 10 s by default; never, within this test, here)."""
    with LocalKafka(extra_properties=NO_SWEEP) as broker:
        bootstrap, source, group = broker.bootstrap_servers, unique("orders"), unique("group")
        _create_topics(bootstrap, source, 3)
        placed = produce(bootstrap, source, 300, partitions=3)
        _die_inside_a_transaction(bootstrap, source, group, partition=2)
        config = write_config(tmp_path, bootstrap, source, group, kafka_client)
        guard = GuardProcess(config, subprocess_env, "survivor")
        _wait_for_records(guard, len(placed), 180, "the dead member's transaction not ended")
        log_text = guard.log.read_text()
        guard.terminate()
        assert "aborted transactions past their timeout" in log_text
        assert f"{group}-dead" in log_text  # the fenced transactional id
        assert_each_offset_once(bootstrap, source, placed, kafka_client)


def test_a_takeover_behind_an_open_transaction_resumes_from_the_committed_offset(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    """The partition already has a committed offset when a member dies holding a pending one:
    the next guard waits for that transaction to end and resumes from the committed offset,
    never from the reset policy (`earliest` would process the first 100 records twice)."""
    bootstrap, source, group = kafka.bootstrap_servers, unique("orders"), unique("group")
    _create_topics(bootstrap, source, 1)
    placed = produce(bootstrap, source, 100, partitions=1)
    config = write_config(tmp_path, bootstrap, source, group, kafka_client)
    GuardProcess(config, subprocess_env, "first", "--max-records", "100").finish()
    _die_inside_a_transaction(bootstrap, source, group, partition=0)
    placed |= produce(bootstrap, source, 50, partitions=1, start=100)
    guard = GuardProcess(config, subprocess_env, "second")
    _wait_for_records(guard, 50, 180, "the partition was never taken over")
    guard.terminate()
    assert _records_done(guard) == 50
    assert_each_offset_once(bootstrap, source, placed, kafka_client)
