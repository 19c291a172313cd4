"""Inspect what is quarantined: counts by subject, reason, field and time; sample records.

By default only the *current* quarantine is counted: copies an earlier replay already
replayed or superseded (requeued with attempt + 1) are left out unless asked for.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from guard.quarantine.filters import RecordFilter
from guard.quarantine.records import QuarantinedRecord, UnreadableRecord

Bucket = Literal["minute", "hour", "day"]
_BUCKET_FORMAT = {"minute": "%Y-%m-%dT%H:%MZ", "hour": "%Y-%m-%dT%H:00Z", "day": "%Y-%m-%d"}


@dataclass
class QuarantineStats:
    total: int = 0
    unreadable: int = 0
    handled: int = 0  # replayed or superseded copies, left out of the counts below
    by_subject: Counter[str] = field(default_factory=Counter)
    by_reason: Counter[str] = field(default_factory=Counter)
    by_field: Counter[str] = field(default_factory=Counter)
    by_time: Counter[str] = field(default_factory=Counter)
    by_attempt: Counter[int] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "unreadable": self.unreadable,
            "handled_by_replay": self.handled,
            "by_subject": dict(self.by_subject.most_common()),
            "by_reason": dict(self.by_reason.most_common()),
            "by_field": dict(self.by_field.most_common()),
            "by_time": dict(sorted(self.by_time.items())),
            "by_attempt": {str(k): v for k, v in sorted(self.by_attempt.items())},
        }

    def render(self) -> str:
        lines = [f"{self.total} quarantined records"]
        if self.handled:
            lines[0] += f" ({self.handled} more already handled by replays, not counted)"
        if self.unreadable:
            lines.append(f"{self.unreadable} records without a readable envelope")
        for title, counter in (
            ("by subject", self.by_subject),
            ("by reason", self.by_reason),
            ("by field", self.by_field),
        ):
            lines.append(f"{title}:")
            lines += [
                f"  {_printable(k) or '(record)':<30} {v:>8}" for k, v in counter.most_common()
            ]
        lines.append("by time:")
        lines += [f"  {k:<30} {v:>8}" for k, v in sorted(self.by_time.items())]
        return "\n".join(lines)


def collect_stats(
    items: Iterable[QuarantinedRecord | UnreadableRecord],
    handled: dict[str, str],
    bucket: Bucket = "hour",
    include_handled: bool = False,
    record_filter: RecordFilter | None = None,
) -> QuarantineStats:
    stats = QuarantineStats()
    fmt = _BUCKET_FORMAT[bucket]
    for item in items:
        if isinstance(item, UnreadableRecord):
            stats.unreadable += 1
            continue
        if record_filter is not None and not record_filter.matches(item):
            continue
        if item.location.key in handled and not include_handled:
            stats.handled += 1
            continue
        stats.total += 1
        stats.by_subject[item.subject] += 1
        stats.by_reason.update(item.reasons)
        stats.by_field.update(set(item.fields))
        at: datetime | None = item.quarantined_at
        stats.by_time[at.strftime(fmt) if at else "unknown"] += 1
        stats.by_attempt[item.attempt] += 1
    return stats


def describe(
    rec: QuarantinedRecord, show_values: bool, handled: str | None = None
) -> dict[str, Any]:
    """One record for `show`: where it is, its envelope, and its value only when asked -- the
    offending values its errors carry (written while `expose_values` was on) too."""
    envelope = rec.envelope
    if not show_values:
        errors = [{k: v for k, v in e.items() if k != "value"} for e in envelope["errors"]]
        envelope = {**envelope, "errors": errors}
    out: dict[str, Any] = {
        "location": rec.location.key,
        "key": _text(rec.key) if show_values else ("<hidden>" if rec.key is not None else None),
        "envelope": envelope,
    }
    if handled:
        out["handled_by_replay"] = handled
    if show_values:
        out["value"] = _text(rec.value)
    else:
        out["value_bytes"] = None if rec.value is None else len(rec.value)
    return out


def _printable(text: str) -> str:
    """Text any terminal can take: a lone surrogate (valid in a JSON string, not in UTF-8)
    or a control character is shown as an escape instead of failing the whole command."""
    if text.isprintable():
        return text
    escaped = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in escaped)


def _text(data: bytes | None, limit: int = 2000) -> str | None:
    if data is None:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(data[:limit]).decode("ascii")
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"
