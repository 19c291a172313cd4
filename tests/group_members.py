"""What a consumer group looks like from outside: for tests that need every member working."""

from __future__ import annotations

import time

from confluent_kafka import ConsumerGroupState
from confluent_kafka.admin import AdminClient


def wait_until_each_member_owns_partitions(
    bootstrap: str, group: str, members: int, timeout: float = 120
) -> None:
    """Block until `group` is stable with `members` members, each assigned a partition.

    Records produced after this reach every member, however fast one of them would have
    drained a backlog alone (two instances started together may otherwise find one of them
    done before the other has joined)."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    deadline = time.monotonic() + timeout
    seen = "not described yet"
    while time.monotonic() < deadline:
        try:
            group_description = admin.describe_consumer_groups([group], request_timeout=10)[
                group
            ].result()
        except Exception as exc:  # the group does not exist yet, or the coordinator moves
            seen = f"error: {exc}"
        else:
            owned = [len(m.assignment.topic_partitions) for m in group_description.members]
            seen = f"{group_description.state}, partitions per member {owned}"
            stable = group_description.state == ConsumerGroupState.STABLE
            if stable and len(owned) == members and all(owned):
                return
        time.sleep(0.2)
    raise AssertionError(f"group {group} never had {members} working members: {seen}")
