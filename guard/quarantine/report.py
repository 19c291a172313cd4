"""Aggregate a quarantine for `guard quarantine report`, streaming, in bounded memory.

Every record is seen once and added to counters; nothing per record is kept. Memory is bounded
by the number of distinct keys per dimension, each capped (`MAX_KEYS`: keys past the cap are
counted under `(other)`), by the time buckets (per minute, made coarser while collecting once
a long span needs more than `STORED_BUCKETS`; re-binned to at most `MAX_BUCKETS` per chart)
and by a few examples per field. So a quarantine of a million records costs about what one of
a thousand does (docs/quarantine-report.md has the measured figure).

Counted like `guard quarantine stats`: copies an earlier replay already handled are left out
(and counted apart); a record counts once per dimension value it carries (a record failing on
two fields counts for each field, once per field), so per-field sums can exceed the records.
Record values never enter the aggregate unless `expose_values` is set: examples carry the
field, the check (reason code) and the guard's value-free message.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from guard.quarantine.inspect import _text
from guard.quarantine.records import QuarantinedRecord, UnreadableRecord

MAX_KEYS = 200  # distinct values kept per dimension; the rest count as OTHER
MAX_BUCKETS = 120  # time buckets shown per chart (coarser buckets past this)
EXAMPLES = 3  # example errors kept per field
CODES_PER_FIELD = 10
OTHER = "(other)"
# Quarantine times outside these count as without a time: no guard quarantined anything
# before 1970 (a zero time such as `0001-01-01` is no time), and a bucket floored below year 1
# or ending past 9999 is no date at all.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 1, 1, tzinfo=UTC)
RECORD = "(record)"  # errors about the record as a whole (no field path)
DIMENSIONS = ("reason", "field", "version", "partition")
STORED_BUCKETS = 1_000  # collected per minute until the span needs more: then coarser
WIDTHS = (60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400)


class CappedCounter(Counter[str]):
    """A Counter that keeps at most `cap` distinct keys; later new keys count as OTHER."""

    def __init__(self, cap: int = MAX_KEYS) -> None:
        super().__init__()
        self.cap = cap

    def add(self, key: str, n: int = 1) -> str:
        if key not in self and len(self) >= self.cap:
            key = OTHER
        self[key] += n
        return key


@dataclass
class FieldDetail:
    """What failed on one field: its checks (reason codes) and a few example errors."""

    codes: CappedCounter = field(default_factory=lambda: CappedCounter(CODES_PER_FIELD))
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Producer:
    records: int = 0
    first: datetime | None = None
    last: datetime | None = None
    reasons: CappedCounter = field(default_factory=lambda: CappedCounter(20))


@dataclass
class QuarantineAggregate:
    """Counts of one quarantine source (a topic or a directory)."""

    source: str
    expose_values: bool = False
    producer_header: str | None = None  # an original header naming the producer
    key_prefix_separator: str | None = None  # or the key up to this separator
    total: int = 0
    unreadable: int = 0
    handled: int = 0
    filtered: int = 0
    first: datetime | None = None
    last: datetime | None = None
    subjects: CappedCounter = field(default_factory=CappedCounter)
    counts: dict[str, CappedCounter] = field(
        default_factory=lambda: {d: CappedCounter() for d in DIMENSIONS}
    )
    width: int = WIDTHS[0]  # seconds per stored time bucket
    # dimension -> bucket start (Unix s) -> key -> records
    timeline: dict[str, defaultdict[int, Counter[str]]] = field(
        default_factory=lambda: {d: defaultdict(Counter) for d in DIMENSIONS}
    )
    per_bucket: Counter[int] = field(default_factory=Counter)
    no_time: int = 0
    fields: dict[str, FieldDetail] = field(default_factory=dict)
    producers: dict[str, Producer] = field(default_factory=dict)
    unidentified: int = 0  # records whose producer the header or key does not name
    # Records each producer sent to the source topics over the same range (all verdicts),
    # when counted (--producer-totals): the denominator of a true quarantine rate.
    sent: Counter[str] | None = None

    def add(
        self,
        item: QuarantinedRecord | UnreadableRecord,
        handled: Callable[[str], bool] = lambda _: False,
        matches: Callable[[QuarantinedRecord], bool] = lambda _: True,
    ) -> bool:
        """Count one record; True when it is part of the report (not handled or filtered)."""
        if isinstance(item, UnreadableRecord):
            self.unreadable += 1
            return False
        if handled(item.location.key):
            self.handled += 1
            return False
        if not matches(item):
            self.filtered += 1
            return False
        self.total += 1
        self.subjects.add(item.subject or "(none)")
        keys = self._keys(item)
        at = item.quarantined_at
        if at is not None:
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
            if not EPOCH <= at < LATEST:
                at = None
        if at is None:
            self.no_time += 1
        else:
            self.first = at if self.first is None or at < self.first else self.first
            self.last = at if self.last is None or at > self.last else self.last
            bucket = int(at.timestamp()) // self.width * self.width
            self.per_bucket[bucket] += 1
        for dim, values in keys.items():
            for value in values:
                kept = self.counts[dim].add(value)
                if at is not None:
                    self.timeline[dim][bucket][kept] += 1
        if len(self.per_bucket) > STORED_BUCKETS:
            self._coarsen()
        self._add_errors(item)
        self._add_producer(item, at)
        return True

    def _coarsen(self) -> None:
        """Re-bin everything collected so far into the next wider bucket."""
        wider = [w for w in WIDTHS if w > self.width]
        if not wider:
            return
        self.width = w = wider[0]
        merged: Counter[int] = Counter()
        for start, n in self.per_bucket.items():
            merged[start // w * w] += n
        self.per_bucket = merged
        for dim, buckets in self.timeline.items():
            coarse: defaultdict[int, Counter[str]] = defaultdict(Counter)
            for start, counter in buckets.items():
                coarse[start // w * w].update(counter)
            self.timeline[dim] = coarse

    def _keys(self, item: QuarantinedRecord) -> dict[str, set[str]]:
        source = item.source
        if source.get("partition") is not None:
            where = f"{source.get('topic') or '?'}[{source['partition']}]"
        elif source.get("file"):
            where = str(source["file"])
        else:
            where = "(unknown)"
        versions = item.envelope.get("versions_tried") or []
        return {
            "reason": set(item.reasons) or {"(none)"},
            "field": {f or RECORD for f in item.fields} or {RECORD},
            "version": {",".join(f"v{v}" for v in versions) or "(none)"},
            "partition": {where},
        }

    def _add_errors(self, item: QuarantinedRecord) -> None:
        seen: set[str] = set()
        for error in item.envelope.get("errors") or []:
            name = str(error.get("field") or RECORD)
            detail = self.fields.get(name)
            if detail is None:
                if len(self.fields) >= MAX_KEYS:
                    name = OTHER
                detail = self.fields.setdefault(name, FieldDetail())
            code = str(error.get("code") or "?")
            detail.codes.add(code)
            if name not in seen and len(detail.examples) < EXAMPLES:
                example = {
                    "location": item.location.key,
                    "code": code,
                    "message": str(error.get("message") or ""),
                }
                if self.expose_values:
                    if error.get("value") is not None:
                        example["value"] = str(error["value"])
                    example["record_value"] = _text(item.value, limit=500) or ""
                detail.examples.append(example)
            seen.add(name)

    def _add_producer(self, item: QuarantinedRecord, at: datetime | None) -> None:
        name = self._producer(item)
        if name is None:
            self.unidentified += 1
            return
        producer = self.producers.get(name)
        if producer is None:
            if len(self.producers) >= MAX_KEYS:
                name = OTHER
            producer = self.producers.setdefault(name, Producer())
        producer.records += 1
        for reason in item.reasons:
            producer.reasons.add(reason)
        if at is not None:
            producer.first = at if producer.first is None or at < producer.first else producer.first
            producer.last = at if producer.last is None or at > producer.last else producer.last

    def _producer(self, item: QuarantinedRecord) -> str | None:
        return producer_of(
            item.original_headers, item.key, self.producer_header, self.key_prefix_separator
        )

    def collect(
        self,
        items: Iterable[QuarantinedRecord | UnreadableRecord],
        handled: Callable[[str], bool] = lambda _: False,
        matches: Callable[[QuarantinedRecord], bool] = lambda _: True,
    ) -> QuarantineAggregate:
        for item in items:
            self.add(item, handled, matches)
        return self

    # -- views for rendering ---------------------------------------------------------------

    def bucket_seconds(self) -> int:
        """The bucket width that shows the span in at most MAX_BUCKETS buckets."""
        if not self.per_bucket:
            return self.width
        span = max(self.per_bucket) - min(self.per_bucket) + self.width
        for width in WIDTHS:
            if width >= self.width and span / width <= MAX_BUCKETS:
                return width
        return WIDTHS[-1]

    def series(self, dim: str | None, top: int = 8) -> tuple[list[int], dict[str, list[int]]]:
        """Bucket start times (Unix s) and, per key of `dim` (its `top` largest; the rest
        summed as OTHER), the records per bucket. `dim` None: all records, one series."""
        width = self.bucket_seconds()
        if not self.per_bucket:
            return [], {}
        first = min(self.per_bucket) // width * width
        last = max(self.per_bucket) // width * width
        starts = list(range(first, last + width, width))
        index = {s: i for i, s in enumerate(starts)}

        def slot(start: int) -> int:
            return index[start // width * width]

        if dim is None:
            total = [0] * len(starts)
            for start, n in self.per_bucket.items():
                total[slot(start)] += n
            return starts, {"records": total}
        keep = [k for k, _ in self.counts[dim].most_common(top)]
        out = {k: [0] * len(starts) for k in keep}
        rest = [0] * len(starts)
        for start, counter in self.timeline[dim].items():
            i = slot(start)
            for key, n in counter.items():
                if key in out:
                    out[key][i] += n
                else:
                    rest[i] += n
        if any(rest):
            out[OTHER if OTHER not in out else OTHER + " "] = rest
        return starts, out

    def span_hours(self) -> float:
        if self.first is None or self.last is None:
            return 0.0
        return max((self.last - self.first).total_seconds() / 3600, 1 / 60)

    def producer_ranking(self) -> list[dict[str, Any]]:
        """Producers by quarantine rate: with source counts (`sent`), quarantined / sent;
        without, quarantined records per hour over the report's span (the quarantine alone
        holds no count of what a producer sent that passed)."""
        hours = self.span_hours()
        sent = self.sent

        def rate(name: str, p: Producer) -> float:
            if sent is not None:
                return p.records / sent[name] if sent.get(name) else 1.0
            return p.records / hours if hours else 0.0

        ranked = sorted(self.producers.items(), key=lambda kv: (-rate(*kv), -kv[1].records, kv[0]))
        return [
            {
                "producer": name,
                "records": p.records,
                "share": round(p.records / self.total, 4) if self.total else 0.0,
                "per_hour": round(p.records / hours, 1) if hours else None,
                "sent": sent.get(name, 0) if sent is not None else None,
                "quarantine_rate": round(rate(name, p), 4) if sent is not None else None,
                "first": _iso(p.first),
                "last": _iso(p.last),
                "top_reasons": dict(p.reasons.most_common(3)),
            }
            for name, p in ranked
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "records": self.total,
            "unreadable": self.unreadable,
            "handled_by_replay": self.handled,
            "filtered_out": self.filtered,
            "first_quarantined_at": _iso(self.first),
            "last_quarantined_at": _iso(self.last),
            "without_time": self.no_time,
            "by_subject": dict(self.subjects.most_common()),
            **{f"by_{d}": dict(self.counts[d].most_common()) for d in DIMENSIONS},
            "fields": {
                name: {
                    "records": self.counts["field"].get(name, 0),
                    "checks": dict(d.codes.most_common()),
                    "examples": d.examples,
                }
                for name, d in sorted(
                    self.fields.items(), key=lambda kv: -self.counts["field"].get(kv[0], 0)
                )
            },
            "producers": {
                "identified_by": self._identified_by(),
                "unidentified": self.unidentified,
                "ranking": self.producer_ranking(),
            },
            "timeline": self._timeline_json(),
        }

    def _identified_by(self) -> str | None:
        if self.producer_header:
            return f"header {self.producer_header}"
        if self.key_prefix_separator:
            return f"key prefix before {self.key_prefix_separator!r}"
        return None

    def _timeline_json(self) -> dict[str, Any]:
        starts, total = self.series(None)
        out: dict[str, Any] = {
            "bucket_seconds": self.bucket_seconds(),
            "buckets": [_iso(datetime.fromtimestamp(s, UTC)) for s in starts],
            "records": total.get("records", []),
        }
        for dim in DIMENSIONS:
            out[f"by_{dim}"] = self.series(dim)[1]
        return out


def producer_of(
    headers: Iterable[tuple[str, bytes | None]],
    key: bytes | None,
    header: str | None,
    separator: str | None,
) -> str | None:
    """The producer a record names: the last value of `header`, else its key up to
    `separator`; None when neither is given or found."""
    if header:
        found = None
        for name, value in headers:
            if name == header and value:
                found = value
        if found:
            return found.decode("utf-8", "replace")[:64]
    if separator and key:
        text = key.decode("utf-8", "replace")
        if separator in text:
            return text.split(separator, 1)[0][:64]
    return None


def count_producers(
    records: Iterable[tuple[Iterable[tuple[str, bytes | None]], bytes | None, int]],
    header: str | None,
    separator: str | None,
    since_ms: int | None = None,
    until_ms: int | None = None,
) -> Counter[str]:
    """Records per producer among (headers, key, timestamp ms) of a source topic, within
    [since, until) by record timestamp; capped like the report's other keys."""
    sent = CappedCounter()
    for headers, key, ts in records:
        if (since_ms is not None and ts < since_ms) or (until_ms is not None and ts >= until_ms):
            continue
        name = producer_of(headers, key, header, separator)
        if name is not None:
            sent.add(name)
    return sent


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at is not None else None
