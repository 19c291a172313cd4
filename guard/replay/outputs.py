"""The records a replay writes: a passing record for its destination, or a requeued copy.

Replayed records carry the original key, value (stripped under `strip`, as the live guard
does), headers (the version header set to the version that accepted the record) and source
timestamp, plus `guard.source.*` (the original coordinates),
`guard.replay.*` (the quarantine copy and the replay id) and `guard.attempt`. With
`quarantine.hmac_key` set they also carry `guard.signature` (over these headers and the version
header), so a record sent back to its source topic and failing again is quarantined with
attempt + 1 (without a key the guard cannot tell these headers from a producer's forgery: it
renames them `guard.untrusted.*`, attempt 1; a verbatim re-send of a replayed record is
recognised by its lineage and treated the same way: guard/quarantine/trust.py).
Untrusted copies of the guard's own lineage names from earlier rounds are dropped, so round
trips do not grow the record. Requeued records get a fresh envelope (new errors, attempt + 1)
and the same replay links.
"""

from __future__ import annotations

from guard.quarantine.envelope import (
    H_ATTEMPT,
    H_OFFSET,
    H_PARTITION,
    H_TIMESTAMP,
    H_TOPIC,
    PREFIX,
    UNTRUSTED,
    Envelope,
    HeaderStyle,
    Source,
    envelope_headers,
)
from guard.quarantine.records import H_REPLAY_AT, H_REPLAY_ID, QuarantinedRecord
from guard.quarantine.trust import H_SIGNATURE, sign
from guard.replay.plan import Decision, Outcome
from guard.transport.base import Headers, InHeaders
from guard.validation.validator import Verdict


def replay_headers(rec: QuarantinedRecord, replay_id: str, at: str) -> Headers:
    return [
        (H_REPLAY_ID, replay_id.encode()),
        (H_REPLAY_AT, at.encode()),
        *rec.location.link_headers(),
    ]


def passed_headers(
    rec: QuarantinedRecord, verdict: Verdict, replay_id: str, at: str, version_header: str
) -> InHeaders:
    """The original headers, but the version header names the version that accepted the
    record (it may differ from the one it was sent with, e.g. after `--version N`); a record
    no version judged (a forwarded tombstone) keeps its own, as the live guard does."""
    source = rec.source
    judged = verdict.version is not None
    originals = [
        (k, v)
        for k, v in rec.original_headers
        if not (judged and k == version_header) and not _stale_lineage(k)
    ]
    if judged:
        originals.append((version_header, str(verdict.version).encode()))
    lineage: Headers = [
        (name, str(source[key]).encode())
        for name, key in (
            (H_TOPIC, "topic"),
            (H_PARTITION, "partition"),
            (H_OFFSET, "offset"),
            (H_TIMESTAMP, "timestamp_ms"),
        )
        if source.get(key) is not None
    ]
    return [
        *originals,
        *lineage,
        (H_ATTEMPT, str(rec.attempt).encode()),
        *replay_headers(rec, replay_id, at),
    ]


_LINEAGE = (H_TOPIC, H_PARTITION, H_OFFSET, H_TIMESTAMP, H_ATTEMPT, H_SIGNATURE, PREFIX + "replay.")


def _stale_lineage(name: str) -> bool:
    """An untrusted copy of a header this replay writes afresh (from an earlier round)."""
    return name.startswith(UNTRUSTED) and (PREFIX + name[len(UNTRUSTED) :]).startswith(_LINEAGE)


def requeued_headers(
    rec: QuarantinedRecord,
    verdict: Verdict,
    replay_id: str,
    at: str,
    style: HeaderStyle = "guard",
    task_id: str = "0",
) -> InHeaders:
    """The record's own headers (its own `__connect.errors.*` ones too: they came before the
    envelope), then a fresh envelope in the quarantine's header `style`, as the live guard
    writes it, then the replay links."""
    envelope = Envelope(
        source=Source(**rec.source),  # read_envelope's source keys are Source's fields
        subject=rec.subject,
        versions_tried=verdict.versions_tried,
        errors=verdict.errors,
        attempt=rec.attempt + 1,
        quarantined_at=at,
    )
    return [
        *rec.original_headers,
        *envelope_headers(envelope, style, task_id),
        *replay_headers(rec, replay_id, at),
    ]


def replay_output(
    outcome: Outcome,
    replay_id: str,
    at: str,
    version_header: str,
    hmac_key: bytes | None = None,
    style: HeaderStyle = "guard",
    task_id: str = "0",
) -> tuple[bytes | None, bytes | None, InHeaders]:
    """Key, value and headers to write for a PASS (replayed) or FAIL (requeued) outcome; a
    requeued copy's envelope in the quarantine's header `style` (`task_id`: Connect's)."""
    rec, verdict = outcome.record, outcome.verdict
    assert rec is not None and verdict is not None
    if outcome.decision is Decision.PASS:
        passed = passed_headers(rec, verdict, replay_id, at, version_header)
        if hmac_key is not None:
            signature = sign(hmac_key, rec.key, verdict.value, passed, version_header)
            passed.append((H_SIGNATURE, signature))
        return rec.key, verdict.value, passed
    return rec.key, rec.value, requeued_headers(rec, verdict, replay_id, at, style, task_id)
