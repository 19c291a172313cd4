"""What the guard reads about a topic the same way for every transport: the settings it routes
by (`max.message.bytes` and the timestamp window, from DescribeConfigs entries), and its id."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping

from guard.transport.base import TimestampWindow, TopicFacts

MAX_MESSAGE_BYTES = "max.message.bytes"
TIMESTAMP_TYPE = "message.timestamp.type"
BEFORE_MAX_MS = "message.timestamp.before.max.ms"
AFTER_MAX_MS = "message.timestamp.after.max.ms"
# Before Kafka 3.6 one setting bounded both sides; 4.0 removed it.
DIFFERENCE_MAX_MS = "message.timestamp.difference.max.ms"
NAMES = (MAX_MESSAGE_BYTES, TIMESTAMP_TYPE, BEFORE_MAX_MS, AFTER_MAX_MS, DIFFERENCE_MAX_MS)

_UNBOUNDED = 2**63 - 1  # Long.MAX_VALUE: Kafka's "no bound"


def _number(raw: str | None) -> int | None:
    return int(raw) if raw is not None and str(raw).isdigit() else None


def _bound(raw: str | None) -> int | None:
    n = _number(raw)
    return None if n is None or n >= _UNBOUNDED else n


def timestamp_window(entries: Mapping[str, str | None]) -> TimestampWindow | None:
    """None when the broker takes any timestamp: LogAppendTime (it stamps records itself),
    no bound on either side, or settings it did not say."""
    if entries.get(TIMESTAMP_TYPE) == "LogAppendTime":
        return None
    legacy = _bound(entries.get(DIFFERENCE_MAX_MS))
    before = _bound(entries[BEFORE_MAX_MS]) if BEFORE_MAX_MS in entries else legacy
    after = _bound(entries[AFTER_MAX_MS]) if AFTER_MAX_MS in entries else legacy
    if before is None and after is None:
        return None
    return TimestampWindow(before, after)


def topic_facts(partitions: int, entries: Mapping[str, str | None] | None) -> TopicFacts:
    """`entries`: the topic's config values by name (None when they could not be read)."""
    if entries is None:
        return TopicFacts(partitions)
    return TopicFacts(
        partitions, _number(entries.get(MAX_MESSAGE_BYTES)), timestamp_window(entries)
    )


def topic_id_text(raw: str | uuid.UUID) -> str:
    """A topic id (KIP-516) the way Kafka prints it (URL-safe base64, no padding), from the
    UUID form kafka-python gives or the text librdkafka gives (already Kafka's form)."""
    try:
        as_uuid = raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))
    except ValueError:
        return str(raw)
    return base64.urlsafe_b64encode(as_uuid.bytes).rstrip(b"=").decode()
