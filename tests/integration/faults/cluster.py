"""What the cluster scenarios ask the brokers: who leads a partition, who coordinates a group or
a transactional id (the admin client's FindCoordinator), and events to wait on (a new leader
elected, an ISR shrunk, a line in the guard's log). Waits poll with generous timeouts; the
verdict never depends on how fast they end."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Literal

from kafka import KafkaAdminClient
from kafka.errors import KafkaError
from kafka.protocol.metadata import CoordinatorType

from tests.fixtures.guard_process import COMMITTED, GuardProcess

EVENT_TIMEOUT_S = 300  # generous: the machine is shared, a restart may take a minute


def _admin(bootstrap: str) -> KafkaAdminClient:
    return KafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=10_000, bootstrap_timeout_ms=20_000
    )


def partitions(bootstrap: str, topic: str) -> dict[int, tuple[int, list[int]]]:
    """Partition -> (leader id, ISR) as the cluster's metadata has it now."""
    admin = _admin(bootstrap)
    try:
        (described,) = admin.describe_topics([topic])
    finally:
        admin.close()
    return {
        int(p["partition_index"]): (int(p["leader_id"]), sorted(p["isr_nodes"]))
        for p in described["partitions"]
    }


def leader(bootstrap: str, topic: str, partition: int = 0) -> int:
    return partitions(bootstrap, topic)[partition][0]


def coordinator(bootstrap: str, key: str, kind: Literal["group", "transaction"]) -> int:
    """The node coordinating a consumer group or a transactional id (FindCoordinator)."""
    key_type = CoordinatorType.GROUP if kind == "group" else CoordinatorType.TRANSACTION
    admin = _admin(bootstrap)
    try:
        # kafka-python 3 has no public FindCoordinator call; describe_groups uses this one.
        node: int = admin._manager.run(admin._find_coordinator_id, key, key_type)
    finally:
        admin.close()
    return int(node)


def wait_until(what: str, check: Callable[[], bool], timeout: float = EVENT_TIMEOUT_S) -> float:
    """Poll `check` (broker errors count as "not yet") until it holds; seconds it took."""
    started = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - started
        except (KafkaError, OSError, KeyError, ValueError):
            pass
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not seen in {timeout:.0f}s: {what}")
        time.sleep(0.3)


def wait_leaders_without(bootstrap: str, topic: str, gone: set[int]) -> float:
    """A new leader elected, off the `gone` nodes, for every partition of `topic`."""
    return wait_until(
        f"{topic} led by nodes other than {sorted(gone)}",
        lambda: all(
            lead >= 0 and lead not in gone for lead, _ in partitions(bootstrap, topic).values()
        ),
    )


def wait_isr_at_most(bootstrap: str, topic: str, size: int) -> float:
    return wait_until(
        f"every ISR of {topic} down to {size}",
        lambda: all(len(isr) <= size for _, isr in partitions(bootstrap, topic).values()),
    )


def log_count(guard: GuardProcess, text: str) -> int:
    return guard.log.read_text(errors="replace").count(text)


def wait_log_count(guard: GuardProcess, text: str, above: int) -> float:
    """Until the guard's log holds `text` more than `above` times (fails if the guard exits)."""

    def seen() -> bool:
        if guard.proc.poll() is not None:
            raise AssertionError(f"guard exited ({guard.proc.returncode}) waiting for {text!r}")
        return log_count(guard, text) > above

    return wait_until(f"{text!r} in the guard's log", seen)


def commit_times(guard: GuardProcess) -> list[tuple[float, int]]:
    """(wall-clock time in epoch seconds, records) of every batch committed so far, from the
    guard's own log timestamps: when the guard committed, not when a test's poll noticed."""
    out = []
    for line in guard.log.read_text(errors="replace").splitlines():
        if COMMITTED not in line:
            continue
        try:
            event = json.loads(line)
            stamp = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
        except (ValueError, KeyError):
            continue
        out.append((stamp.timestamp(), int(event.get("records", 0))))
    return out


def commits_after(guard: GuardProcess, since: float) -> list[tuple[float, int]]:
    """(seconds after `since`, records) of every batch the guard committed after the wall-clock
    time `since`."""
    return [(t - since, n) for t, n in commit_times(guard) if t > since]


def next_commit_after(guard: GuardProcess, since: float) -> float | None:
    """Seconds from the wall-clock time `since` to the guard's next commit, from its log so
    far (None: none yet, the guard had no work left)."""
    after = commits_after(guard, since)
    return round(after[0][0], 1) if after else None
