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
from typing import Any, Literal

from guard._version import __version__
from guard.quarantine.connect import H_OFFSET as C_OFFSET
from guard.quarantine.connect import H_PARTITION as C_PARTITION
from guard.quarantine.connect import H_TOPIC as C_TOPIC
from guard.quarantine.connect import PREFIX as CONNECT_PREFIX
from guard.quarantine.connect import connect_headers
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
# Kafka allows what kafka-python cannot produce: a record whose key and value are both null.
# Its transport writes an empty value and this header (guard.transport.kafka_python.producer),
# so readers (and replay) can restore the null. Null header values travel as null on every
# transport; `null.headers` only marks records written by earlier guard versions.
H_NULL_VALUE = PREFIX + "null.value"
# Incoming guard.* headers the guard did not write are renamed under this prefix
# (guard.quarantine.trust); they are the producer's data, not the envelope.
UNTRUSTED = PREFIX + "untrusted."
H_NULL_HEADERS = PREFIX + "null.headers"

# Whose names the envelope travels under: the guard's, Kafka Connect's (connect.py), or both.
HeaderStyle = Literal["guard", "connect", "both"]


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
        return error_summary(self.errors).reasons

    def headers(self) -> Headers:
        s = self.source
        return encode_envelope(
            (s.topic, s.partition, s.offset, s.timestamp_ms, s.file, s.line),
            self.subject,
            self.versions_tried,
            self.errors,
            self.attempt,
            self.quarantined_at.encode(),
            self.guard_version,
        )


@dataclass(frozen=True, slots=True)
class ErrorSummary:
    """What the envelope says about one tuple of errors, encoded once."""

    reasons: tuple[str, ...]
    reasons_header: bytes
    errors_header: bytes
    total_header: bytes


# Invalid records fail in few distinct ways (same field, code, message), so the encoded
# error list is looked up, not rebuilt; bounded, because exposed values make errors unique.
_SUMMARIES: dict[tuple[FieldError, ...], ErrorSummary] = {}
_SUMMARIES_MAX = 4096
_SUBJECTS: dict[tuple[str, tuple[int, ...]], tuple[bytes, bytes]] = {}
_ENVELOPE_VERSION = ENVELOPE_VERSION.encode()
_SOURCE_NAMES = (H_TOPIC, H_PARTITION, H_OFFSET, H_TIMESTAMP, H_FILE, H_LINE)


def error_summary(errors: tuple[FieldError, ...]) -> ErrorSummary:
    """Reason codes and encoded error headers for `errors`, from the cache when seen."""
    found = _SUMMARIES.get(errors)
    if found is None:
        reasons = tuple(dict.fromkeys(e.code.value for e in errors))
        listed = [e.to_json() for e in errors[:MAX_ERRORS]]
        found = ErrorSummary(
            reasons,
            ",".join(reasons).encode(),
            json.dumps(listed, separators=(",", ":")).encode(),
            str(len(errors)).encode(),
        )
        if len(_SUMMARIES) >= _SUMMARIES_MAX:
            _SUMMARIES.clear()
        _SUMMARIES[errors] = found
    return found


def encode_envelope(
    source: tuple[str | int | None, ...],
    subject: str,
    versions_tried: tuple[int, ...],
    errors: tuple[FieldError, ...],
    attempt: int,
    quarantined_at: bytes,
    guard_version: str = __version__,
) -> Headers:
    """The envelope's headers. `source` is (topic, partition, offset, timestamp_ms, file,
    line), None where unknown; the per-batch and per-contract parts come from caches."""
    out: Headers = [(H_ENVELOPE, _ENVELOPE_VERSION)]
    for name, value in zip(_SOURCE_NAMES, source, strict=True):
        if value is not None:
            out.append((name, str(value).encode()))
    names = _SUBJECTS.get((subject, versions_tried))
    if names is None:
        names = (subject.encode(), ",".join(map(str, versions_tried)).encode())
        _SUBJECTS[(subject, versions_tried)] = names
    summary = error_summary(errors)
    out += [
        (H_SUBJECT, names[0]),
        (H_VERSIONS, names[1]),
        (H_REASONS, summary.reasons_header),
        (H_ERRORS, summary.errors_header),
        (H_ERRORS_TOTAL, summary.total_header),
        (H_GUARD_VERSION, guard_version.encode()),
        (H_QUARANTINED_AT, quarantined_at),
        (H_ATTEMPT, str(attempt).encode()),
    ]
    return out


# Under `connect`, Connect's names carry the source coordinates instead of the guard's.
_REPLACED_BY_CONNECT = {H_TOPIC, H_PARTITION, H_OFFSET}


def envelope_headers(
    envelope: Envelope, style: HeaderStyle = "guard", task_id: str = "0"
) -> Headers:
    """The envelope as headers in the chosen style (guard's, Connect's, or both)."""
    own = envelope.headers()
    if style == "guard":
        return own
    if style == "connect":
        own = [(k, v) for k, v in own if k not in _REPLACED_BY_CONNECT]
    s = envelope.source
    return own + connect_headers(
        (s.topic, s.partition, s.offset),
        envelope.subject,
        envelope.versions_tried,
        envelope.errors,
        envelope.reasons,
        task_id,
    )


def previous_attempts(headers: InHeaders) -> int:
    """The attempt count an input record already carries (0 for a fresh record)."""
    for name, value in headers:
        if name == H_ATTEMPT:
            try:
                return int(value or b"")
            except ValueError:
                return 0
    return 0


def restore_nulls(value: bytes | None, headers: InHeaders) -> tuple[bytes | None, InHeaders]:
    """The original value and headers, nulls included, of a record read from quarantine.
    ValueError when a marker is damaged (the record is then unreadable, not a crash)."""
    names = {k for k, _ in headers}
    if H_NULL_VALUE in names:
        value = None
    restored: InHeaders = [(k, v) for k, v in headers]
    for k, v in headers:
        if k == H_NULL_HEADERS:
            listed = json.loads(v or b"[]")
            if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
                raise ValueError(f"{H_NULL_HEADERS} is not a list of header names")
            null_names = set(listed)
            restored = [(n, None if n in null_names and hv == b"" else hv) for n, hv in restored]
    return value, restored


def quarantine_headers(
    original: InHeaders, envelope: Envelope, style: HeaderStyle = "guard", task_id: str = "0"
) -> InHeaders:
    """Original headers (minus stale envelope ones; untrusted ones are data) followed by the
    envelope, in `style`."""
    return [*original_headers(original, style), *envelope_headers(envelope, style, task_id)]


def original_headers(headers: InHeaders, style: HeaderStyle = "guard") -> InHeaders:
    """A stored record's headers without the guard's own envelope (untrusted copies are
    kept); under the `connect` styles, without Connect's error headers too."""
    stale = (PREFIX,) if style == "guard" else (PREFIX, CONNECT_PREFIX)
    return [(k, v) for k, v in headers if not k.startswith(stale) or k.startswith(UNTRUSTED)]


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

    errors = json.loads(h.get(H_ERRORS, "[]"))
    # Anything could have been written to a topic: refuse shapes the tools cannot count.
    if not isinstance(errors, list) or not all(
        isinstance(e, dict) and isinstance(e.get("field", ""), str) for e in errors
    ):
        raise ValueError(f"{H_ERRORS} is not a list of error objects")

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
        "errors": errors,
        "errors_total": num(H_ERRORS_TOTAL),
        "guard_version": h.get(H_GUARD_VERSION),
        "quarantined_at": h.get(H_QUARANTINED_AT),
        "attempt": num(H_ATTEMPT),
    }
