"""Create and drop the benchmark's topics (3 partitions each), waiting for the broker."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient, NewTopic

from benchmarks.dataset import PARTITIONS

TIMEOUT_S = 60.0


def create(bootstrap: str, names: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    new = [NewTopic(n, num_partitions=PARTITIONS, replication_factor=1) for n in names]
    for future in admin.create_topics(new, operation_timeout=TIMEOUT_S).values():
        future.result(TIMEOUT_S)


def drop(bootstrap: str, prefix: str) -> None:
    """Delete every topic whose name starts with `prefix` (a finished run's outputs)."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    names = [t for t in admin.list_topics(timeout=TIMEOUT_S).topics if t.startswith(prefix)]
    if names:
        for future in admin.delete_topics(names, operation_timeout=TIMEOUT_S).values():
            future.result(TIMEOUT_S)
