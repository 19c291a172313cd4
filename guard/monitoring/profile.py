"""Window profiles: everything profiled for one subject over one window, mergeable.

Per window: record counts (all, valid, quarantined, decoded), quarantine reasons, undeclared
field paths, record timestamps and source partitions; per field a `FieldProfile`. Profiles
from several instances (or windows) merge into one; they serialise to JSON for the profiles
topic and for baseline files.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import datasketches as ds  # type: ignore[import-untyped]
import numpy as np

from guard.config.settings import SketchSettings
from guard.monitoring.field_profile import MISSING, FieldProfile, b64, count, unb64
from guard.monitoring.plan import SubjectPlan
from guard.validation.validator import Verdict

PROFILE_FORMAT = 2  # 2: value summaries instead of KLL sketches for field values
Observation = tuple[str | None, int | None, Verdict]  # (source partition, timestamp, verdict)

# Record rate: each partition is timed on the span of its central records, between the
# TIMESTAMP_TRIM and 1 - TIMESTAMP_TRIM quantiles of its record timestamps (and at least one
# record in from each end), not from its first to its last timestamp. A few records stamped
# far from the rest (event-time producers, late or offline clients, `guard replay
# --to-source` keeping the source timestamp) then cannot stretch the span: up to 10% of a
# partition's records at either end may be outliers. The quantiles come from a small KLL
# sketch per partition, so the spans stay mergeable across batches, windows and instances;
# its rank error (about 2.6% at k=100) is small next to the volume threshold and to the
# rate's own Poisson noise, and it costs 2.5-3.5 KB of profile JSON per partition. Trimmed
# quantiles rather than, say, the median gap between consecutive records: a quantile sketch
# merges and does not depend on the order records arrive in, and the rate keeps its meaning
# (records over the seconds they span, pooled over partitions).
TIMESTAMP_TRIM = 0.1
TIMESTAMP_KLL_K = 100


class PartitionSpan:
    """The records of one source partition in a window and their timestamps (ms).

    `first` and `last` are exact (they say where a window sits); `timestamps` is a KLL sketch
    of every timestamp, None only for spans read from profiles written before it existed.
    """

    __slots__ = ("first", "last", "n", "timestamps")

    def __init__(
        self, n: int, first: int, last: int, timestamps: ds.kll_doubles_sketch | None
    ) -> None:
        self.n, self.first, self.last, self.timestamps = n, first, last, timestamps

    @classmethod
    def of(cls, stamps: list[int]) -> PartitionSpan:
        sketch = ds.kll_doubles_sketch(TIMESTAMP_KLL_K)
        sketch.update(np.asarray(stamps, dtype=np.float64))
        return cls(len(stamps), min(stamps), max(stamps), sketch)

    def add(self, stamps: list[int]) -> None:
        self.n += len(stamps)
        self.first, self.last = min(self.first, *stamps), max(self.last, *stamps)
        if self.timestamps is not None:
            self.timestamps.update(np.asarray(stamps, dtype=np.float64))

    def copy(self) -> PartitionSpan:
        sketch = None
        if self.timestamps is not None:
            sketch = ds.kll_doubles_sketch(TIMESTAMP_KLL_K)
            sketch.merge(self.timestamps)
        return PartitionSpan(self.n, self.first, self.last, sketch)

    def merge(self, other: PartitionSpan) -> None:
        self.n += other.n
        self.first, self.last = min(self.first, other.first), max(self.last, other.last)
        if self.timestamps is None or other.timestamps is None:
            self.timestamps = None  # an old profile without the sketch: first..last only
        else:
            self.timestamps.merge(other.timestamps)

    def timed(self) -> tuple[float, float]:
        """(gaps between records, seconds) over the central records; see TIMESTAMP_TRIM."""
        sketch = self.timestamps
        if sketch is None or sketch.is_empty():
            return max(self.n - 1, 0), (self.last - self.first) / 1000
        n = sketch.n
        # Quantile ranks leave out at least one record at each end (1.5/n: clear of rounding).
        trim = max(TIMESTAMP_TRIM, 1.5 / n)
        if trim >= 0.5:  # too few records to leave one out at each end: no central span
            return 0.0, 0.0
        lo = float(sketch.get_quantile(trim, inclusive=False))
        hi = float(sketch.get_quantile(1 - trim, inclusive=True))
        if hi <= lo:
            return 0.0, 0.0
        inside = n * (sketch.get_rank(hi, inclusive=True) - sketch.get_rank(lo, inclusive=False))
        return max(inside - 1, 0.0), (hi - lo) / 1000

    def to_json(self) -> list[Any]:
        out: list[Any] = [self.n, self.first, self.last]
        if self.timestamps is not None:
            out.append(b64(self.timestamps.serialize()))
        return out

    @classmethod
    def from_json(cls, data: list[Any]) -> PartitionSpan:
        sketch = None
        if len(data) > 3:
            try:
                sketch = ds.kll_doubles_sketch.deserialize(unb64(str(data[3])))
            except (RuntimeError, IndexError, OverflowError) as exc:
                raise ValueError(f"unreadable timestamp sketch: {exc}") from exc
        return cls(count(data[0]), int(data[1]), int(data[2]), sketch)


@dataclass
class WindowMeta:
    subject: str
    instance: str
    seq: int
    started_at: float  # wall clock, epoch seconds
    ended_at: float | None = None
    final: bool = False
    # When the profile was published (the profiles topic's record timestamp); set when read
    # back, never serialised.
    published_at: float | None = None

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
        # Records with any undeclared path (however many, tracked or not); None for a
        # profile written before it was counted.
        self.unknown_records: int | None = 0
        # Per source partition ("<topic>/<partition>"): its records and their timestamps.
        self.partitions: dict[str, PartitionSpan] = {}
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
        stamps: defaultdict[str, list[int]] = defaultdict(list)
        cap = self.sketch.max_unknown_fields
        for source, ts, verdict in items:
            if source is not None and ts is not None and ts >= 0:
                stamps[source].append(ts)
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
            if unknown and self.unknown_records is not None:
                self.unknown_records += 1
            for path in unknown:
                if path in self.unknown_fields or len(self.unknown_fields) < cap:
                    self.unknown_fields[path] += 1
                else:
                    self.unknown_overflow += 1
        for source, batch in stamps.items():
            span = self.partitions.get(source)
            if span is None:
                self.partitions[source] = PartitionSpan.of(batch)
            else:
                span.add(batch)
        self.records += len(items)
        self.profiled += len(records)
        if records:
            columns: dict[tuple[str, ...], list[Any]] = {}
            for fplan in plan.fields:
                column = _column(records, fplan.parts, columns)
                self._field(fplan.path).update(column, fplan.categories)

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
        if self.unknown_records is None or other.unknown_records is None:
            self.unknown_records = None
        else:
            self.unknown_records += other.unknown_records
        for source, other_span in other.partitions.items():
            span = self.partitions.get(source)
            if span is None:
                self.partitions[source] = other_span.copy()
            else:
                span.merge(other_span)
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
        return min((span.first for span in self.partitions.values()), default=None)

    @property
    def last_ts_ms(self) -> int | None:
        return max((span.last for span in self.partitions.values()), default=None)

    def record_rate(self) -> float | None:
        """Records per second per source partition, from record timestamps.

        Each partition is timed on its own span, so reading a backlog partition by partition,
        a rebalance (an instance reading fewer partitions) or a merge across instances does
        not look like a change in volume. A span covers a partition's central records only
        (see TIMESTAMP_TRIM), so a few far-off timestamps do not either. The rate is the
        gaps between records over the seconds they span, pooled over the partitions.
        Partitions spanning under a second are left out; None when none is left (or for
        files, which have no partitions).
        """
        span = self.record_span()
        return None if span is None else span[0] / span[1]

    def record_span(self) -> tuple[float, float] | None:
        """(gaps between records, seconds they span), pooled over the partitions that span
        a second or more (see `record_rate`); None when none does."""
        timed = [span.timed() for span in self.partitions.values()]
        timed = [(gaps, seconds) for gaps, seconds in timed if seconds >= 1.0]
        if not timed:
            return None
        return sum(gaps for gaps, _ in timed), sum(seconds for _, seconds in timed)

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
            "unknown_records": self.unknown_records,
            "partitions": {k: v.to_json() for k, v in sorted(self.partitions.items())},
            "sketch": self.sketch.model_dump(),
            "fields": {p: fp.to_json() for p, fp in self.fields.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WindowProfile:
        """Raises KeyError/TypeError/ValueError on malformed input (callers wrap them)."""
        if data.get("format") == 1:
            raise ValueError(
                "profile format 1 holds KLL sketches, replaced by value summaries (format 2): "
                "rebuild the baseline with `guard baseline build` (or let it be learned again)"
            )
        if data.get("format") != PROFILE_FORMAT:
            raise ValueError(f"unsupported profile format {data.get('format')!r}")
        sketch = SketchSettings.model_validate(data["sketch"])
        wp = cls(str(data["subject"]), (), sketch)
        wp.records = count(data["records"])
        wp.valid = count(data["valid"])
        wp.quarantined = count(data["quarantined"])
        wp.profiled = count(data["profiled"])
        wp.reasons = Counter({str(k): count(v) for k, v in data["reasons"].items()})
        wp.unknown_fields = Counter({str(k): count(v) for k, v in data["unknown_fields"].items()})
        wp.unknown_overflow = count(data.get("unknown_overflow", 0))
        unknown_records = data.get("unknown_records")
        wp.unknown_records = None if unknown_records is None else count(unknown_records)
        wp.partitions = {str(k): PartitionSpan.from_json(v) for k, v in data["partitions"].items()}
        wp.windows = count(data.get("windows", 1))
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


def _column(
    records: list[dict[str, Any]],
    parts: tuple[str, ...],
    done: dict[tuple[str, ...], list[Any]],
) -> list[Any]:
    """One field's values over the batch (MISSING where absent). A nested field is read from
    its parent's column, which `done` keeps for the batch, so each level is read once."""
    column = done.get(parts)
    if column is None:
        name = parts[-1]
        if len(parts) == 1:
            column = [r.get(name, MISSING) for r in records]
        else:
            parent = _column(records, parts[:-1], done)
            column = [v.get(name, MISSING) if type(v) is dict else MISSING for v in parent]
        done[parts] = column
    return column
