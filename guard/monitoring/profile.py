"""Window profiles: everything profiled for one subject over one window, mergeable.

Per window: record counts (all, valid, quarantined, decoded), quarantine reasons, undeclared
field paths, record timestamps and source partitions; per field a `FieldProfile`. Profiles
from several instances (or windows) merge into one; they serialise to JSON for the profiles
topic and for baseline files.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from guard.config.settings import SketchSettings
from guard.monitoring.field_profile import MISSING, FieldProfile
from guard.monitoring.plan import FieldPlan, SubjectPlan
from guard.validation.validator import Verdict

PROFILE_FORMAT = 1
Observation = tuple[str | None, int | None, Verdict]  # (source partition, timestamp, verdict)


@dataclass
class WindowMeta:
    subject: str
    instance: str
    seq: int
    started_at: float  # wall clock, epoch seconds
    ended_at: float | None = None
    final: bool = False

    @property
    def window_id(self) -> str:
        return f"{round(self.started_at * 1000):013d}-{self.seq}"

    @property
    def key(self) -> str:
        return f"{self.subject}/{self.instance}/{self.window_id}"

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "instance": self.instance,
            "seq": self.seq,
            "id": self.window_id,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "final": self.final,
        }


class WindowProfile:
    """Everything profiled for one subject over one window (or a merge of windows)."""

    def __init__(self, subject: str, paths: Iterable[str], sketch: SketchSettings) -> None:
        self.subject = subject
        self.sketch = sketch
        self.records = 0  # every record of the subject, decodable or not
        self.valid = 0
        self.quarantined = 0
        self.profiled = 0  # records that decoded to a JSON object: the fields' population
        self.reasons: Counter[str] = Counter()
        self.unknown_fields: Counter[str] = Counter()
        self.unknown_overflow = 0  # records with undeclared paths beyond the tracked maximum
        # Per source partition ("<topic>/<partition>"): [records, first ts ms, last ts ms].
        self.partitions: dict[str, list[int]] = {}
        self.fields: dict[str, FieldProfile] = {p: FieldProfile(sketch) for p in paths}
        self.meta: WindowMeta | None = None
        self.windows = 1  # how many windows were merged into this one

    @classmethod
    def for_plan(cls, plan: SubjectPlan) -> WindowProfile:
        return cls(plan.subject, plan.paths, plan.sketch)

    # -- batch update -------------------------------------------------------------------

    def add(self, plan: SubjectPlan, items: Sequence[Observation]) -> None:
        """Profile one batch of this subject's records: (source partition, record timestamp
        ms, verdict); source and timestamp are None for records read from files."""
        if not items:
            return
        records: list[dict[str, Any]] = []
        cap = self.sketch.max_unknown_fields
        for source, ts, verdict in items:
            if source is not None and ts is not None and ts >= 0:
                span = self.partitions.get(source)
                if span is None:
                    self.partitions[source] = [1, ts, ts]
                else:
                    span[0] += 1
                    span[1], span[2] = min(span[1], ts), max(span[2], ts)
            if verdict.ok:
                self.valid += 1
                unknown: Iterable[str] = verdict.unknown_fields
            else:
                self.quarantined += 1
                self.reasons.update(verdict.reasons)
                unknown = ()
                if verdict.record is not None:
                    unknown = plan.shape.unknown_paths(verdict.record)
            if verdict.record is not None:
                records.append(verdict.record)
            for path in unknown:
                if path in self.unknown_fields or len(self.unknown_fields) < cap:
                    self.unknown_fields[path] += 1
                else:
                    self.unknown_overflow += 1
        self.records += len(items)
        self.profiled += len(records)
        if records:
            for fplan in plan.fields:
                self._field(fplan.path).update(_column(records, fplan), fplan.categories)

    def _field(self, path: str) -> FieldProfile:
        fp = self.fields.get(path)
        if fp is None:
            fp = self.fields[path] = FieldProfile(self.sketch)
        return fp

    # -- merge and copy -----------------------------------------------------------------

    def merge(self, other: WindowProfile) -> WindowProfile:
        """Add `other` into this profile (in place) and return self."""
        self.records += other.records
        self.valid += other.valid
        self.quarantined += other.quarantined
        self.profiled += other.profiled
        self.reasons.update(other.reasons)
        self.unknown_fields.update(other.unknown_fields)
        self.unknown_overflow += other.unknown_overflow
        for source, (n, first, last) in other.partitions.items():
            span = self.partitions.get(source)
            if span is None:
                self.partitions[source] = [n, first, last]
            else:
                span[0] += n
                span[1], span[2] = min(span[1], first), max(span[2], last)
        for path, fp in other.fields.items():
            self._field(path).merge(fp)
        return self

    def copy(self) -> WindowProfile:
        out = WindowProfile(self.subject, (), self.sketch).merge(self)
        out.meta = None if self.meta is None else WindowMeta(**vars(self.meta))
        out.windows = self.windows
        return out

    # -- read-outs ----------------------------------------------------------------------

    @property
    def quarantine_rate(self) -> float:
        return self.quarantined / self.records if self.records else 0.0

    @property
    def first_ts_ms(self) -> int | None:
        return min((span[1] for span in self.partitions.values()), default=None)

    @property
    def last_ts_ms(self) -> int | None:
        return max((span[2] for span in self.partitions.values()), default=None)

    def record_rate(self) -> float | None:
        """Records per second per source partition, from record timestamps.

        Each partition is timed on its own span, so reading a backlog partition by partition,
        a rebalance (an instance reading fewer partitions) or a merge across instances does
        not look like a change in volume. Partitions spanning under a second are left out;
        None when none is left (or for files, which have no partitions).
        """
        timed = [(n, (last - first) / 1000) for n, first, last in self.partitions.values()]
        timed = [(n, span) for n, span in timed if span >= 1.0]
        if not timed:
            return None
        return sum(n for n, _ in timed) / sum(span for _, span in timed)

    # -- serialise ----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PROFILE_FORMAT,
            "subject": self.subject,
            "window": self.meta.to_json() if self.meta else None,
            "windows": self.windows,
            "records": self.records,
            "valid": self.valid,
            "quarantined": self.quarantined,
            "profiled": self.profiled,
            "reasons": dict(self.reasons),
            "unknown_fields": dict(self.unknown_fields),
            "unknown_overflow": self.unknown_overflow,
            "partitions": {k: list(v) for k, v in sorted(self.partitions.items())},
            "sketch": self.sketch.model_dump(),
            "fields": {p: fp.to_json() for p, fp in self.fields.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WindowProfile:
        """Raises KeyError/TypeError/ValueError on malformed input (callers wrap them)."""
        if data.get("format") != PROFILE_FORMAT:
            raise ValueError(f"unsupported profile format {data.get('format')!r}")
        sketch = SketchSettings.model_validate(data["sketch"])
        wp = cls(str(data["subject"]), (), sketch)
        wp.records = int(data["records"])
        wp.valid = int(data["valid"])
        wp.quarantined = int(data["quarantined"])
        wp.profiled = int(data["profiled"])
        wp.reasons = Counter({str(k): int(v) for k, v in data["reasons"].items()})
        wp.unknown_fields = Counter({str(k): int(v) for k, v in data["unknown_fields"].items()})
        wp.unknown_overflow = int(data.get("unknown_overflow", 0))
        wp.partitions = {
            str(k): [int(v[0]), int(v[1]), int(v[2])] for k, v in data["partitions"].items()
        }
        wp.windows = int(data.get("windows", 1))
        wp.fields = {str(p): FieldProfile.from_json(f, sketch) for p, f in data["fields"].items()}
        window = data.get("window")
        if window is not None:
            wp.meta = WindowMeta(
                subject=str(window["subject"]),
                instance=str(window["instance"]),
                seq=int(window["seq"]),
                started_at=float(window["started_at"]),
                ended_at=None if window["ended_at"] is None else float(window["ended_at"]),
                final=bool(window["final"]),
            )
        return wp


def merge_all(profiles: Iterable[WindowProfile]) -> WindowProfile | None:
    """One profile holding all of them; None for none."""
    merged: WindowProfile | None = None
    for p in profiles:
        if merged is None:
            merged = p.copy()
        else:
            merged.merge(p)
            merged.windows += p.windows
    return merged


def _column(records: list[dict[str, Any]], fplan: FieldPlan) -> list[Any]:
    parts = fplan.parts
    if len(parts) == 1:
        name = parts[0]
        return [r.get(name, MISSING) for r in records]
    return [_dig(r, parts) for r in records]


def _dig(record: dict[str, Any], parts: tuple[str, ...]) -> Any:
    value: Any = record
    for name in parts:
        if type(value) is not dict:
            return MISSING
        value = value.get(name, MISSING)
        if value is MISSING:
            return MISSING
    return value
