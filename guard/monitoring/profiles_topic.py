"""Window profiles on the compacted profiles topic: the record, reading back, merging.

`guard drift status` reads the topic to its end with read_committed (only profiles of
committed batches) and keeps the last value per key (what compaction converges to). Per
subject and instance it then takes the newest *closed* window, the state that was checked,
and, separately, the open window after it (a snapshot, republished every
`snapshot_seconds`, usually too young to check). Windows older than `--max-age`, by default
STALE_WINDOWS window lengths (at least a few minutes), are left out: their instance has
stopped or gone quiet, and its last state is no longer current.

The same topic keeps the window history (history.py): one small summary per closed window
under `history/<subject>/<instance>/<slot>`, the slot cycling through
`monitoring.history.windows` values, so compaction bounds the history per instance.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from guard.config.settings import GuardSettings, MonitoringSettings
from guard.monitoring.history import WindowSummary
from guard.monitoring.profile import WindowProfile, merge_all
from guard.transport.base import OutRecord
from guard.transport.factory import open_reader

# Default age limit: STALE_WINDOWS window lengths, and at least STALE_WINDOWS times
# MIN_WINDOW_S and `snapshot_seconds`. A running instance with a flowing stream publishes at
# least once a window length (a closed window) or a snapshot interval (its open window), so
# one silent for three of those has stopped, lost its partitions or has no data, and its
# newest window no longer describes the stream. The floor keeps the last state of a fast
# stream (count windows closing every second) visible for a few minutes after it pauses.
STALE_WINDOWS = 3
MIN_WINDOW_S = 60.0


def profile_record(topic: str, profile: WindowProfile) -> OutRecord:
    if profile.meta is None:
        raise ValueError("only a window's profile can be published")
    value = json.dumps(profile.to_json(), separators=(",", ":")).encode()
    final = b"true" if profile.meta.final else b"false"
    headers = [("guard.event", b"profile"), ("guard.profile.final", final)]
    return OutRecord(topic, profile.meta.key.encode(), value, headers)


HISTORY_PREFIX = "history/"


def history_record(topic: str, summary: WindowSummary, slots: int) -> OutRecord:
    key = f"{HISTORY_PREFIX}{summary.subject}/{summary.instance}/{summary.index % slots}"
    value = json.dumps(summary.to_json(), separators=(",", ":")).encode()
    return OutRecord(topic, key.encode(), value, [("guard.event", b"history")])


def read_history(
    settings: GuardSettings, timeout_s: float = 120.0
) -> dict[str, list[WindowSummary]]:
    """Every instance's window summaries per subject, oldest first."""
    reader = open_reader(settings.kafka)
    try:
        latest = reader.latest(settings.monitoring.profiles_topic, timeout_s)
    finally:
        reader.close()
    out: dict[str, list[WindowSummary]] = {}
    for key, rec in latest.items():
        if not key.decode(errors="replace").startswith(HISTORY_PREFIX):
            continue
        try:
            summary = WindowSummary.from_json(json.loads(rec.value or b""))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        out.setdefault(summary.subject, []).append(summary)
    for summaries in out.values():
        summaries.sort(key=lambda h: (h.at, h.instance, h.index))
    return out


@dataclass
class ProfileRead:
    profiles: dict[str, WindowProfile] = field(default_factory=dict)  # by key
    unreadable: int = 0  # values that were not profiles (skipped)


def read_profiles(settings: GuardSettings, timeout_s: float = 120.0) -> ProfileRead:
    """The latest committed profile per key on the profiles topic."""
    reader = open_reader(settings.kafka)
    try:
        latest = reader.latest(settings.monitoring.profiles_topic, timeout_s)
    finally:
        reader.close()
    out = ProfileRead()
    for key, rec in latest.items():
        if key.startswith(HISTORY_PREFIX.encode()):
            continue  # a window summary (read_history), not a profile
        timestamp_ms = rec.timestamp_ms
        try:
            profile = WindowProfile.from_json(json.loads(rec.value or b""))
        except (ValueError, KeyError, TypeError, AttributeError, RuntimeError):
            out.unreadable += 1
            continue
        if profile.meta is not None and timestamp_ms > 0:
            profile.meta.published_at = timestamp_ms / 1000
        out.profiles[key.decode()] = profile
    return out


@dataclass
class InstanceWindows:
    """One instance's current windows of one subject."""

    instance: str
    final: WindowProfile | None = None  # the newest closed (checked) window
    open: WindowProfile | None = None  # the open window after it, if any (a snapshot)


@dataclass
class CurrentWindows:
    subjects: dict[str, list[InstanceWindows]] = field(default_factory=dict)
    # Per subject, instances whose every window was older than the age limit.
    stale: dict[str, list[str]] = field(default_factory=dict)


def last_seen(p: WindowProfile) -> float:
    """Wall clock of a profile: when it was published, else when its window closed/opened."""
    assert p.meta is not None
    return p.meta.published_at or p.meta.ended_at or p.meta.started_at


def current_windows(
    profiles: Iterable[WindowProfile],
    max_age_s: float | None = None,
    now: float | None = None,
    *,
    monitoring: MonitoringSettings | None = None,
) -> CurrentWindows:
    """Per subject and instance, the newest closed window and the open window after it.

    A window published more than `max_age_s` ago is left out. Without `max_age_s`, given
    the `monitoring` settings, the default limit applies per instance (see STALE_WINDOWS):
    the window length is `windows.seconds`, or for count-only windows the length of the
    instance's newest closed window. Neither: nothing is left out.
    """
    slots: dict[tuple[str, str], InstanceWindows] = {}
    for p in profiles:
        if p.meta is None:
            continue
        slot = slots.setdefault((p.subject, p.meta.instance), InstanceWindows(p.meta.instance))
        if p.meta.final:
            if slot.final is None or _order(p) > _order(slot.final):
                slot.final = p
        elif slot.open is None or _order(p) > _order(slot.open):
            slot.open = p
    now = time.time() if now is None else now
    out = CurrentWindows()
    for (subject, _instance), slot in sorted(slots.items()):
        if slot.open and slot.final and _order(slot.open) <= _order(slot.final):
            slot.open = None  # a window that never closed (its instance died), since replaced
        limit = max_age_s
        if limit is None and monitoring is not None:
            limit = default_max_age(monitoring, slot.final)
        if limit is not None:
            if slot.final is not None and last_seen(slot.final) < now - limit:
                slot.final = None
            if slot.open is not None and last_seen(slot.open) < now - limit:
                slot.open = None
        if slot.final is None and slot.open is None:
            out.stale.setdefault(subject, []).append(slot.instance)
        else:
            out.subjects.setdefault(subject, []).append(slot)
    return out


def default_max_age(monitoring: MonitoringSettings, final: WindowProfile | None = None) -> float:
    """The default age limit for an instance whose newest closed window is `final`."""
    length = monitoring.windows.seconds
    if length is None and final is not None and final.meta is not None:
        meta = final.meta
        length = (meta.ended_at or meta.started_at) - meta.started_at
    return STALE_WINDOWS * max(length or 0.0, monitoring.snapshot_seconds, MIN_WINDOW_S)


def _order(p: WindowProfile) -> tuple[float, int]:
    assert p.meta is not None
    return (p.meta.started_at, p.meta.seq)


def merged(profiles: Iterable[WindowProfile | None]) -> WindowProfile | None:
    """The profiles merged into one view (no window meta); None for none."""
    out = merge_all(p for p in profiles if p is not None)
    if out is not None:
        out.meta = None
    return out
