"""Which quarantined records a replay or inspection looks at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from guard.quarantine.records import QuarantinedRecord


@dataclass(frozen=True)
class RecordFilter:
    """All given conditions must hold; an empty set means "any"."""

    subjects: frozenset[str] = frozenset()
    reasons: frozenset[str] = frozenset()
    fields: frozenset[str] = frozenset()
    since: datetime | None = None  # quarantine time, inclusive
    until: datetime | None = None  # quarantine time, exclusive
    partitions: frozenset[int] = frozenset()  # source partitions
    offset_from: int | None = None  # source offsets, inclusive
    offset_to: int | None = None

    def matches(self, rec: QuarantinedRecord) -> bool:
        if self.subjects and rec.subject not in self.subjects:
            return False
        if self.reasons and not self.reasons.intersection(rec.reasons):
            return False
        if self.fields and not self.fields.intersection(rec.fields):
            return False
        if self.since is not None or self.until is not None:
            at = rec.quarantined_at
            if at is None:
                return False
            if self.since is not None and at < self.since:
                return False
            if self.until is not None and at >= self.until:
                return False
        source = rec.source
        if self.partitions and source.get("partition") not in self.partitions:
            return False
        if self.offset_from is not None or self.offset_to is not None:
            offset = source.get("offset")
            if offset is None:
                return False
            if self.offset_from is not None and offset < self.offset_from:
                return False
            if self.offset_to is not None and offset > self.offset_to:
                return False
        return True
