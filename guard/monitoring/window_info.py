"""Where a window sits, for alert events and logs: ids, times and record counts, no data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from guard.monitoring.profile import WindowMeta, WindowProfile


def window_info(profile: WindowProfile) -> dict[str, Any]:
    """A closed (or snapshot) window."""
    meta = profile.meta
    assert meta is not None
    return {
        "id": meta.window_id,
        "instance": meta.instance,
        "started_at": iso(meta.started_at),
        "ended_at": None if meta.ended_at is None else iso(meta.ended_at),
        "records": profile.records,
        "first_timestamp_ms": profile.first_ts_ms,
        "last_timestamp_ms": profile.last_ts_ms,
    }


def open_window_info(
    meta: WindowMeta, records: int, first_ts_ms: int | None, last_ts_ms: int | None
) -> dict[str, Any]:
    """The open window up to a record (an alert raised before the window closed)."""
    return {
        "id": meta.window_id,
        "instance": meta.instance,
        "started_at": iso(meta.started_at),
        "ended_at": None,
        "records": records,
        "first_timestamp_ms": first_ts_ms,
        "last_timestamp_ms": last_ts_ms,
    }


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat()
