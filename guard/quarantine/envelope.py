"""The quarantine envelope: headers added to a quarantined record, and reading them back.

The original key, value and headers are kept untouched; everything the guard adds lives under
the `guard.` prefix (documented in quarantine/README.md). Earlier `guard.` headers on the
input (a record quarantined before, replayed, and failing again) are replaced, not stacked,
so records do not grow with every round trip; the attempt count carries the history.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from guard._version import __version__
from guard.quarantine.connect import H_OFFSET as C_OFFSET
from guard.quarantine.connect import H_PARTITION as C_PARTITION
from guard.quarantine.connect import H_TOPIC as C_TOPIC
from guard.quarantine.connect import PREFIX as CONNECT_PREFIX
from guard.quarantine.connect import HeaderStyle, envelope_headers
from guard.transport.base import Headers, InHeaders
from guard.validation.reasons import FieldError

PREFIX = "guard."
ENVELOPE_VERSION = "1"
MAX_ERRORS = 100  # keeps the header small for records with thousands of failing array items

H_ENVELOPE = PREFIX + "envelope"
H_TOPIC = PREFIX + "source.topic"
H_PARTITION = PREFIX + "source.partition"
H_OFFSET = PREFIX + "source.offset"
H_TIMESTAMP = PREFIX + "source.timestamp"
H_FILE = PREFIX + "source.file"
H_LINE = PREFIX + "source.line"
H_SUBJECT = PREFIX + "subject"
H_VERSIONS = PREFIX + "versions.tried"
H_REASONS = PREFIX + "reasons"
H_ERRORS = PREFIX + "errors"
H_ERRORS_TOTAL = PREFIX + "errors.total"
H_GUARD_VERSION = PREFIX + "validator.version"
H_QUARANTINED_AT = PREFIX + "quarantined.at"
H_ATTEMPT = PREFIX + "attempt"
# Kafka allows what kafka-python cannot produce: a header whose value is null, and a record
# whose key and value are both null. Such records are written with the nulls made empty and
# these headers saying which nulls they were, so readers (and replay) can restore them.
H_NULL_HEADERS = PREFIX + "null.headers"
H_NULL_VALUE = PREFIX + "null.value"


@dataclass(frozen=True, slots=True)
class Source:
    """Where a record came from: Kafka coordinates, or a file and line in file mode."""

    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    timestamp_ms: int | None = None
    file: str | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Envelope:
    source: Source
    subject: str
    versions_tried: tuple[int, ...]
    errors: tuple[FieldError, ...]
    attempt: int
    quarantined_at: str
    guard_version: str = __version__

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.code.value for e in self.errors))

    def headers(self) -> Headers:
        s = self.source
        out: Headers = [(H_ENVELOPE, ENVELOPE_VERSION.encode())]
        for name, value in (
            (H_TOPIC, s.topic),
            (H_PARTITION, s.partition),
            (H_OFFSET, s.offset),
            (H_TIMESTAMP, s.timestamp_ms),
            (H_FILE, s.file),
            (H_LINE, s.line),
        ):
            if value is not None:
                out.append((name, str(value).encode()))
        errors = [e.to_json() for e in self.errors[:MAX_ERRORS]]
        out += [
            (H_SUBJECT, self.subject.encode()),
            (H_VERSIONS, ",".join(map(str, self.versions_tried)).encode()),
            (H_REASONS, ",".join(self.reasons).encode()),
            (H_ERRORS, json.dumps(errors, separators=(",", ":")).encode()),
            (H_ERRORS_TOTAL, str(len(self.errors)).encode()),
            (H_GUARD_VERSION, self.guard_version.encode()),
            (H_QUARANTINED_AT, self.quarantined_at.encode()),
            (H_ATTEMPT, str(self.attempt).encode()),
        ]
        return out


def previous_attempts(headers: InHeaders) -> int:
    """The attempt count an input record already carries (0 for a fresh record)."""
    for name, value in headers:
        if name == H_ATTEMPT:
            try:
                return int(value or b"")
            except ValueError:
                return 0
    return 0


def producible(
    key: bytes | None, value: bytes | None, headers: InHeaders
) -> tuple[bytes | None, bytes | None, Headers]:
    """What the producer can send for this record, with markers for the nulls it cannot."""
    nulls = [name for name, v in headers if v is None]
    out: Headers = [(name, v if v is not None else b"") for name, v in headers]
    if nulls:
        out.append((H_NULL_HEADERS, json.dumps(nulls).encode()))
    if key is None and value is None:
        value = b""
        out.append((H_NULL_VALUE, b"1"))
    return key, value, out


def restore_nulls(value: bytes | None, headers: Headers) -> tuple[bytes | None, InHeaders]:
    """Undo `producible`: the original value and headers, nulls included."""
    names = {k for k, _ in headers}
    if H_NULL_VALUE in names:
        value = None
    restored: InHeaders = [(k, v) for k, v in headers]
    for k, v in headers:
        if k == H_NULL_HEADERS:
            null_names = set(json.loads(v))
            restored = [(n, None if n in null_names and hv == b"" else hv) for n, hv in restored]
    return value, restored


def quarantine_headers(
    original: InHeaders, envelope: Envelope, style: HeaderStyle = "guard", task_id: str = "0"
) -> InHeaders:
    """Original headers (minus stale envelope ones) followed by the envelope, in `style`."""
    stale = (PREFIX,) if style == "guard" else (PREFIX, CONNECT_PREFIX)
    kept = [(k, v) for k, v in original if not k.startswith(stale)]
    return kept + envelope_headers(envelope, style, task_id)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def read_envelope(headers: Sequence[tuple[str, bytes | None]]) -> dict[str, Any]:
    """Parse the guard headers of a quarantined record into plain data (for tools and tests)."""
    h = {
        k: v.decode("utf-8", "replace")
        for k, v in headers
        if k.startswith((PREFIX, CONNECT_PREFIX)) and v is not None
    }
    if H_ENVELOPE not in h:
        raise ValueError("record carries no ingest-guard envelope")
    # Under `header_style: connect` the source coordinates carry Connect's names.
    for ours, theirs in ((H_TOPIC, C_TOPIC), (H_PARTITION, C_PARTITION), (H_OFFSET, C_OFFSET)):
        if ours not in h and theirs in h:
            h[ours] = h[theirs]

    def num(name: str) -> int | None:
        return int(h[name]) if name in h else None

    return {
        "envelope": h[H_ENVELOPE],
        "source": {
            "topic": h.get(H_TOPIC),
            "partition": num(H_PARTITION),
            "offset": num(H_OFFSET),
            "timestamp_ms": num(H_TIMESTAMP),
            "file": h.get(H_FILE),
            "line": num(H_LINE),
        },
        "subject": h.get(H_SUBJECT),
        "versions_tried": [int(v) for v in h.get(H_VERSIONS, "").split(",") if v],
        "reasons": [r for r in h.get(H_REASONS, "").split(",") if r],
        "errors": json.loads(h.get(H_ERRORS, "[]")),
        "errors_total": num(H_ERRORS_TOTAL),
        "guard_version": h.get(H_GUARD_VERSION),
        "quarantined_at": h.get(H_QUARANTINED_AT),
        "attempt": num(H_ATTEMPT),
    }
