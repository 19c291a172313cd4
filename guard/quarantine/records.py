"""A quarantined record as replay and inspection see it, from a topic or a quarantine file."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from guard.quarantine.envelope import (
    H_ENVELOPE,
    PREFIX,
    original_headers,
    read_envelope,
    restore_nulls,
)
from guard.transport.base import Headers, InHeaders, InRecord

# Headers a replay adds to what it writes: where the quarantined copy was, and which replay.
H_REPLAY_ID = PREFIX + "replay.id"
H_REPLAY_AT = PREFIX + "replay.at"
H_REPLAY_TOPIC = PREFIX + "replay.quarantine.topic"
H_REPLAY_PARTITION = PREFIX + "replay.quarantine.partition"
H_REPLAY_OFFSET = PREFIX + "replay.quarantine.offset"
H_REPLAY_FILE = PREFIX + "replay.quarantine.file"
H_REPLAY_LINE = PREFIX + "replay.quarantine.line"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a quarantined copy lives: a quarantine topic offset, or a quarantine file line."""

    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    file: str | None = None
    line: int | None = None

    @property
    def key(self) -> str:
        if self.file is not None:
            return f"{self.file}:{self.line}"
        return f"{self.partition}/{self.offset}"

    def link_headers(self) -> Headers:
        """Headers that point a replayed or requeued record back at this copy."""
        if self.file is not None:
            return [(H_REPLAY_FILE, self.file.encode()), (H_REPLAY_LINE, str(self.line).encode())]
        return [
            (H_REPLAY_TOPIC, str(self.topic).encode()),
            (H_REPLAY_PARTITION, str(self.partition).encode()),
            (H_REPLAY_OFFSET, str(self.offset).encode()),
        ]


@dataclass(frozen=True)
class QuarantinedRecord:
    location: Location
    key: bytes | None
    value: bytes | None  # the original value (null restored if it was null)
    headers: InHeaders  # as stored, nulls restored: the original headers, then the envelope
    envelope: dict[str, Any]

    @property
    def original_headers(self) -> InHeaders:
        """The record's own headers: those before the envelope, which starts at
        `guard.envelope` (what follows is the guard's in every header style: `guard.*` and,
        under `connect`/`both`, `__connect.errors.*`), untrusted copies kept."""
        cut = next((i for i, (k, _) in enumerate(self.headers) if k == H_ENVELOPE), None)
        return original_headers(self.headers[:cut])

    @property
    def subject(self) -> str:
        return str(self.envelope.get("subject") or "")

    @property
    def attempt(self) -> int:
        return int(self.envelope.get("attempt") or 1)

    @property
    def reasons(self) -> list[str]:
        return list(self.envelope.get("reasons") or [])

    @property
    def fields(self) -> list[str]:
        return [e.get("field", "") for e in self.envelope.get("errors") or []]

    @property
    def source(self) -> dict[str, Any]:
        return dict(self.envelope.get("source") or {})

    @cached_property
    def quarantined_at(self) -> datetime | None:
        """When, always with its offset: the envelope's time is UTC, so one written without
        an offset is read as UTC (time filters compare it with aware times)."""
        text = self.envelope.get("quarantined_at")
        try:
            at = datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
        except ValueError:
            return None
        return at if at is None or at.tzinfo is not None else at.replace(tzinfo=UTC)


class UnreadableRecord(ValueError):
    """A quarantine-topic record or file line without a readable envelope."""

    def __init__(self, location: Location, why: str) -> None:
        self.location = location
        super().__init__(f"{location.key}: {why}")


def from_kafka(rec: InRecord) -> QuarantinedRecord:
    location = Location(topic=rec.topic, partition=rec.partition, offset=rec.offset)
    try:
        envelope = read_envelope(rec.headers)
        value, restored = restore_nulls(rec.value, rec.headers)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise UnreadableRecord(location, str(exc)) from None
    return QuarantinedRecord(location, rec.key, value, restored, envelope)


def from_file_line(file: str, line: int, text: str) -> QuarantinedRecord:
    location = Location(file=file, line=line)
    try:
        obj = json.loads(text)
        headers: InHeaders = [
            (str(k), None if v is None else str(v).encode()) for k, v in obj["headers"].items()
        ]
        key = _unb64(obj.get("key_b64"))
        value = _unb64(obj.get("value_b64"))
        envelope = read_envelope(headers)
        value, restored = restore_nulls(value, headers)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, binascii.Error) as exc:
        raise UnreadableRecord(location, f"not a quarantine line: {exc}") from None
    return QuarantinedRecord(location, key, value, restored, envelope)


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text, validate=True)
