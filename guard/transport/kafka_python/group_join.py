"""kafka-python 3.0 can lose the end of a rebalance, leaving the consumer without partitions.

A rejoin is due when `need_rejoin()` says so; for the group leader that includes "the
metadata changed since I assigned" (the first assignment is often made before the topic's
metadata arrived, so a second rebalance follows at once). `join_group_async` keeps the
JoinGroup/SyncGroup task when the poll's time runs out while it is in flight, to await it on
the next poll, but it only gets there `while self.need_rejoin()`. Once the task has done the
leader's assignment the snapshots agree again, so `need_rejoin()` is False, the finished task
is never awaited, and `_on_join_complete` never installs the new assignment: every partition
stays marked as pending revocation, so nothing is fetched until the next rebalance. Seen in
the guard as a member taking over a dead member's partitions sitting idle for 60 s, until its
stall watch replaced the consumer (1 run in 4; the poll's time had gone on retrying unstable
offsets).

`install` makes a join task not yet awaited count as a rejoin still needed: the next poll
takes the join on to its end (the task done while unawaited is redone once by kafka-python,
one more quick rebalance of this member). Installed only on the versions read (3.0.x), while
the join loop still has the condition it completes.
"""

from __future__ import annotations

from typing import Any

from kafka.coordinator.base import BaseCoordinator

from guard.transport.kafka_python.versions import still_has

_JOIN_LOOP = "while self.need_rejoin():"


def install() -> bool:
    """Install once; False when this kafka-python is not the one this was written against."""
    original = BaseCoordinator.need_rejoin
    if getattr(original, "_guard_join", False):
        return True
    if not still_has(BaseCoordinator.join_group_async, _JOIN_LOOP, "self._join_task"):
        return False

    def need_rejoin(self: Any) -> bool:
        return bool(original(self)) or getattr(self, "_join_task", None) is not None

    need_rejoin._guard_join = True  # type: ignore[attr-defined]
    BaseCoordinator.need_rejoin = need_rejoin
    return True
