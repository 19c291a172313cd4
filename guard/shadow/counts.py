"""What a candidate version would do: per-reason and per-rule counts and a bounded sample of
example coordinates (topic, partition, offset, key), mergeable across instances."""

from __future__ import annotations

import base64
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from guard.validation.rules import rule_hits
from guard.validation.validator import Verdict

SAMPLES = 20  # example coordinates kept per candidate (the first ones seen)


@dataclass
class ShadowCounts:
    subject: str
    version: int
    records: int = 0
    would_quarantine: int = 0
    # Against the enforced verdict of the same record:
    newly_quarantined: int = 0  # passes today, the candidate would quarantine it
    newly_passing: int = 0  # quarantined today, the candidate would pass it
    by_reason: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)  # "<rule> (<action>)"
    samples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, enforced_ok: bool, shadow: Verdict, coords: dict[str, Any]) -> None:
        self.records += 1
        self.by_rule.update(
            f"{rule} ({action})" for rule, action, _ in rule_hits(shadow.errors, shadow.warnings)
        )
        if shadow.ok:
            self.newly_passing += not enforced_ok
            return
        self.would_quarantine += 1
        self.newly_quarantined += enforced_ok
        self.by_reason.update(shadow.reasons)
        if len(self.samples) < SAMPLES:
            self.samples.append({**coords, "reasons": list(shadow.reasons)})

    def merge(self, other: ShadowCounts) -> None:
        self.records += other.records
        self.would_quarantine += other.would_quarantine
        self.newly_quarantined += other.newly_quarantined
        self.newly_passing += other.newly_passing
        self.by_reason.update(other.by_reason)
        self.by_rule.update(other.by_rule)
        self.samples.extend(other.samples[: SAMPLES - len(self.samples)])

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "version": self.version,
            "records": self.records,
            "would_quarantine": self.would_quarantine,
            "newly_quarantined": self.newly_quarantined,
            "newly_passing": self.newly_passing,
            "by_reason": dict(self.by_reason.most_common()),
            "by_rule": dict(self.by_rule.most_common()),
            "samples": self.samples,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShadowCounts:
        return cls(
            str(data["subject"]),
            int(data["version"]),
            int(data["records"]),
            int(data["would_quarantine"]),
            int(data["newly_quarantined"]),
            int(data["newly_passing"]),
            Counter({str(k): int(v) for k, v in data["by_reason"].items()}),
            Counter({str(k): int(v) for k, v in data["by_rule"].items()}),
            list(data["samples"])[:SAMPLES],
        )


def coordinates(
    topic: str | None, partition: int | None, offset: int | None, key: bytes | None
) -> dict[str, Any]:
    """Where a record is; the key as base64 (exact bytes), never the value."""
    return {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "key_b64": None if key is None else base64.b64encode(key).decode(),
    }


def merged(parts: list[ShadowCounts]) -> list[ShadowCounts]:
    """Counts summed per (subject, version), sorted."""
    out: dict[tuple[str, int], ShadowCounts] = {}
    for part in parts:
        key = (part.subject, part.version)
        if key not in out:
            out[key] = ShadowCounts(part.subject, part.version)
        out[key].merge(part)
    return [out[k] for k in sorted(out)]
