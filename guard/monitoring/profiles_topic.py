"""Window profiles on the compacted profiles topic: the record, reading back, merging.

`guard drift status` reads the topic to its end with read_committed (only profiles of
committed batches), keeps the last value per key (what compaction converges to), then takes
the latest window of every instance and merges them per subject into one view.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from guard.config.settings import GuardSettings
from guard.monitoring.profile import WindowProfile, merge_all
from guard.transport.base import OutRecord
from guard.transport.reader import CommittedReader


def profile_record(topic: str, profile: WindowProfile) -> OutRecord:
    if profile.meta is None:
        raise ValueError("only a window's profile can be published")
    value = json.dumps(profile.to_json(), separators=(",", ":")).encode()
    final = b"true" if profile.meta.final else b"false"
    headers = [("guard.event", b"profile"), ("guard.profile.final", final)]
    return OutRecord(topic, profile.meta.key.encode(), value, headers)


@dataclass
class ProfileRead:
    profiles: dict[str, WindowProfile] = field(default_factory=dict)  # by key
    unreadable: int = 0  # values that were not profiles (skipped)


def read_profiles(settings: GuardSettings, timeout_s: float = 120.0) -> ProfileRead:
    """The latest committed profile per key on the profiles topic."""
    latest: dict[bytes, bytes | None] = {}
    reader = CommittedReader(settings.kafka)
    try:
        snapshot = reader.snapshot(settings.monitoring.profiles_topic)
        if snapshot is not None:
            for rec in reader.read([snapshot], timeout_s):
                if rec.key is not None:
                    latest[rec.key] = rec.value
    finally:
        reader.close()
    out = ProfileRead()
    for key, value in latest.items():
        if value is None:
            continue  # a tombstone deletes the key
        try:
            out.profiles[key.decode()] = WindowProfile.from_json(json.loads(value))
        except (ValueError, KeyError, TypeError, AttributeError, RuntimeError):
            out.unreadable += 1
    return out


def latest_per_instance(
    profiles: Iterable[WindowProfile], max_age_s: float | None = None, now: float | None = None
) -> dict[str, list[WindowProfile]]:
    """Per subject, the newest window of each instance (optionally only recent ones)."""
    newest: dict[tuple[str, str], WindowProfile] = {}
    for p in profiles:
        if p.meta is None:
            continue
        slot = (p.subject, p.meta.instance)
        have = newest.get(slot)
        if have is None or _order(p) > _order(have):
            newest[slot] = p
    cutoff = None if max_age_s is None else (now or time.time()) - max_age_s
    out: dict[str, list[WindowProfile]] = defaultdict(list)
    for (subject, _instance), p in sorted(newest.items()):
        assert p.meta is not None
        last_seen = p.meta.ended_at or p.meta.started_at
        if cutoff is None or last_seen >= cutoff:
            out[subject].append(p)
    return dict(out)


def _order(p: WindowProfile) -> tuple[float, int]:
    assert p.meta is not None
    return (p.meta.started_at, p.meta.seq)


def merged_view(groups: dict[str, list[WindowProfile]]) -> dict[str, WindowProfile]:
    out: dict[str, WindowProfile] = {}
    for subject, profiles in groups.items():
        merged = merge_all(profiles)
        if merged is not None:
            merged.meta = None
            out[subject] = merged
    return out
