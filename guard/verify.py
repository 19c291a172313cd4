"""Read a topic to its end with read_committed: what downstream consumers actually see.

Used by the demo and the integration tests to prove where every record went.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from guard.config.settings import KafkaClient, KafkaSettings
from guard.quarantine.envelope import read_envelope
from guard.transport.factory import open_reader


@dataclass(frozen=True)
class ReadRecord:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]
    timestamp_ms: int

    @property
    def envelope(self) -> dict[str, Any]:
        return read_envelope(self.headers)


# How long a read waits for transactions that are open, or committed but short of their
# markers (written by the broker after the commit returns), before it reads what is committed.
SETTLE_S = 10.0


def read_topic(
    bootstrap: str,
    topic: str,
    timeout_s: float = 60.0,
    client: KafkaClient = "kafka-python",
    settle_s: float = SETTLE_S,
) -> list[ReadRecord]:
    """Every committed record of `topic` (all partitions), as a read_committed consumer sees it
    once the transactions on it have settled (at most `settle_s`): read right after a commit,
    the committed transaction is complete, not missing."""
    reader = open_reader(
        KafkaSettings(client=client, bootstrap_servers=bootstrap, request_timeout_ms=30_000),
        fetch_bytes=32 * 1024 * 1024,
    )
    try:
        snapshot = reader.settled_snapshot(topic, settle_s)
        if snapshot is None:
            return []
        return [
            ReadRecord(r.partition, r.offset, r.key, r.value, r.headers, r.timestamp_ms)
            for r in reader.read([snapshot], timeout_s)
        ]
    finally:
        reader.close()
