"""What every reader does the same way with the records it read."""

from __future__ import annotations

from collections.abc import Iterable

from guard.transport.base import InRecord


def latest_by_key(records: Iterable[InRecord]) -> dict[bytes, InRecord]:
    """A compacted topic as a table: the last record per key; a tombstone (null value)
    removes its key; records without a key are ignored."""
    table: dict[bytes, InRecord] = {}
    for rec in records:
        if rec.key is None:
            continue
        if rec.value is None:
            table.pop(rec.key, None)
        else:
            table[rec.key] = rec
    return table
