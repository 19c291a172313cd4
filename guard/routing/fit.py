"""Make every routed record fit its target, so one oversize record never stops the service.

A target accepts a record up to the smaller of its topic's `max.message.bytes` (read from the
broker at start and after failures) and the producer's `kafka.max_request_size`. Before a
batch is produced:

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
from collections.abc import Callable
from dataclasses import dataclass, replace

from guard.quarantine.envelope import PREFIX
from guard.routing.router import RoutedBatch, Router
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
    payload = len(rec.key or b"") + len(rec.value or b"")
    # Header values may be None (a null header) where the transport can carry one.
    headers = sum(len(k.encode("utf-8", "surrogateescape")) + len(v or b"") for k, v in rec.headers)
    return BATCH_OVERHEAD + payload + headers + HEADER_OVERHEAD * len(rec.headers)


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


def fit_batch(
    routed: RoutedBatch, router: Router, limit: Callable[[str], int]
) -> tuple[RoutedBatch, list[Oversize]]:
    """The batch with every record made to fit `limit(topic)`, and what was changed.

    Relies on the router's order: `routed.records[i]` is the output of `routed.verdicts[i]`.
    """
    if len(routed.records) != len(routed.verdicts):
        raise ValueError("fit_batch needs one routed record per input record")
    records, verdicts, changes = list(routed.records), list(routed.verdicts), []
    stats = routed.stats
    for i, (out, (rec, verdict)) in enumerate(zip(routed.records, routed.verdicts, strict=True)):
        size, cap = record_size(out), limit(out.topic)
        if size <= cap:
            continue
        plan = router.plans[rec.topic]
        if verdict.ok and out.topic == plan.valid_topic:
            error = FieldError(
                "",
                Reason.TOO_LARGE_FOR_TARGET,
                f"record is about {size} bytes; {out.topic} accepts {cap}",
                verdict.version,
            )
            unfit = Verdict(False, verdict.subject, None, verdict.versions_tried, (error,))
            verdicts[i] = (rec, unfit)
            out = router.quarantine_copy(rec, unfit)  # built as the router builds any copy
            stats.valid -= 1
            stats.quarantined += 1
            stats.by_topic[(rec.topic, "valid")] -= 1
            stats.by_topic[(rec.topic, "quarantined")] += 1
            stats.by_reason[error.code.value] += 1
            changes.append(
                Oversize(
                    rec.topic, rec.partition, rec.offset, size, plan.valid_topic, cap, "quarantined"
                )
            )
            size, cap = record_size(out), limit(out.topic)
        if size > cap:
            out, omitted = envelope_only(out, cap)
            changes.append(
                Oversize(
                    rec.topic,
                    rec.partition,
                    rec.offset,
                    size,
                    out.topic,
                    cap,
                    "envelope-only",
                    omitted,
                )
            )
        records[i] = out
    return replace(routed, records=records, verdicts=verdicts), changes


def envelope_only(out: OutRecord, cap: int) -> tuple[OutRecord, tuple[str, ...]]:
    """Leave out the value, then the original (non-guard) headers, then the key, until the
    record fits; each part left out is described by its size and SHA-256."""
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
        originals = [(k, v) for k, v in headers if not k.startswith(PREFIX)]
        note(
            "headers",
            b"".join(k.encode("utf-8", "surrogateescape") + (v or b"") for k, v in originals),
        )
        headers = [(k, v) for k, v in headers if k.startswith(PREFIX)]
    if record_size(build()) > cap and key is not None:
        note("key", key)
        key = None
    # Still too large (a limit smaller than the envelope itself): the broker will refuse it
    # and the service stops with exit 3, naming the topic limit to raise.
    return build(), tuple(omitted)
