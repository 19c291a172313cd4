"""The size rules the router applies as it builds each record, so one oversize record never
stops the service.

A target accepts a record up to the smaller of its topic's `max.message.bytes` (read from the
broker at start and after failures) and the producer's `kafka.max_request_size`; the router
knows that limit per target (`RoutePlan`). As it routes:

- a *valid* record too large for the clean topic is quarantined instead, with the reason
  `too_large_for_target` (its bytes intact, like any quarantined record);
- a *quarantine copy* too large for the quarantine topic is written envelope-only: its value
  is omitted (then, if still too large, its original headers, then its key). `guard.omitted`
  lists what was left out, and `guard.omitted.<part>.size` / `.sha256` describe each part,
  so the original can be fetched from the source topic (`guard.source.*` coordinates) while
  its retention allows, and checked against the digest.

Sizes are estimated from above (payload plus a fixed allowance for the batch and record
framing), so a record that passes the check is not refused for its size by the broker.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from guard.quarantine.envelope import H_ENVELOPE, PREFIX
from guard.transport.base import OutRecord
from guard.validation.reasons import FieldError, Reason
from guard.validation.validator import Verdict

# A record batch header is 61 bytes; a record's own framing is a few varints (<= 5 bytes
# each), each header adds two more. Rounded up generously: the estimate must not be low.
BATCH_OVERHEAD = 128
HEADER_OVERHEAD = 10

H_OMITTED = PREFIX + "omitted"  # comma list, in the order left out: value, headers, key


def record_size(rec: OutRecord) -> int:
    """An upper bound on the bytes this record takes in a batch of its own."""
    size = BATCH_OVERHEAD + len(rec.key or b"") + len(rec.value or b"")
    # A plain loop, not sum() over a generator: this runs once per routed record.
    # Header values may be None (a null header) where the transport can carry one.
    for k, v in rec.headers:
        size += HEADER_OVERHEAD + len(k.encode("utf-8", "surrogateescape")) + len(v or b"")
    return size


@dataclass(frozen=True)
class Oversize:
    """One record that did not fit its target, and what was done (for the log)."""

    topic: str
    partition: int
    offset: int
    size: int
    target: str
    limit: int
    action: str  # "quarantined" (valid record) or "envelope-only" (quarantine copy)
    omitted: tuple[str, ...] = ()

    def describe(self) -> dict[str, object]:
        return {
            "source_topic": self.topic,
            "source_partition": self.partition,
            "source_offset": self.offset,
            "size": self.size,
            "target": self.target,
            "limit": self.limit,
            "action": self.action,
            "omitted": list(self.omitted),
        }


def too_large(verdict: Verdict, size: int, topic: str, cap: int) -> Verdict:
    """A valid record's verdict turned into a quarantine verdict: too large for `topic`."""
    error = FieldError(
        "",
        Reason.TOO_LARGE_FOR_TARGET,
        f"record is about {size} bytes; {topic} accepts {cap}",
        verdict.version,
    )
    return Verdict(False, verdict.subject, None, verdict.versions_tried, (error,))


def envelope_only(out: OutRecord, cap: int) -> tuple[OutRecord, tuple[str, ...]]:
    """Leave out the value, then the original headers (before the envelope, not `guard.*`),
    then the key, until the record fits; each part left out is described by its size and
    SHA-256."""
    key, value, headers = out.key, out.value, list(out.headers)
    omitted: list[str] = []
    notes: list[tuple[str, bytes]] = []

    def note(part: str, data: bytes) -> None:
        omitted.append(part)
        notes.append((f"{H_OMITTED}.{part}.size", str(len(data)).encode()))
        notes.append((f"{H_OMITTED}.{part}.sha256", hashlib.sha256(data).hexdigest().encode()))

    def build() -> OutRecord:
        marks = [(H_OMITTED, ",".join(omitted).encode()), *notes]
        return replace(out, key=key, value=value, headers=[*headers, *marks])

    note("value", value or b"")
    value = b""  # a producer cannot send a record with neither key nor value
    if record_size(build()) > cap:
        # The envelope starts at `guard.envelope`: what follows is the guard's in every header
        # style (`__connect.errors.*`, which carry the source coordinates under `connect`).
        cut = next((i for i, (k, _) in enumerate(headers) if k == H_ENVELOPE), len(headers))
        originals = [(k, v) for k, v in headers[:cut] if not k.startswith(PREFIX)]
        note(
            "headers",
            b"".join(k.encode("utf-8", "surrogateescape") + (v or b"") for k, v in originals),
        )
        headers = [(k, v) for k, v in headers[:cut] if k.startswith(PREFIX)] + headers[cut:]
    if record_size(build()) > cap and key is not None:
        note("key", key)
        key = None
    # Still too large (a limit smaller than the envelope itself): the broker will refuse it
    # and the service stops with exit 3, naming the topic limit to raise.
    return build(), tuple(omitted)
