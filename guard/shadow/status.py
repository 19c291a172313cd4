"""`guard shadow status`: every instance run's last snapshot on the shadow topic
(read_committed, last value per key), summed per subject and candidate version."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from guard.config.settings import GuardSettings
from guard.shadow.counts import ShadowCounts, merged
from guard.transport.factory import open_reader


@dataclass
class ShadowRead:
    counts: list[ShadowCounts] = field(default_factory=list)  # merged per (subject, version)
    runs: int = 0  # instance runs that published
    unreadable: int = 0


def read_shadow(settings: GuardSettings, timeout_s: float = 120.0) -> ShadowRead:
    reader = open_reader(settings.kafka)
    try:
        latest = reader.latest(settings.shadow_topic, timeout_s)
    finally:
        reader.close()
    parts: list[ShadowCounts] = []
    runs: set[tuple[str, str]] = set()
    unreadable = 0
    for rec in latest.values():
        try:
            data = json.loads(rec.value or b"")
            parts.append(ShadowCounts.from_json(data))
            runs.add((str(data["instance"]), str(data["run"])))
        except (ValueError, KeyError, TypeError, AttributeError):  # not a snapshot we wrote
            unreadable += 1
    return ShadowRead(merged(parts), len(runs), unreadable)
