"""The timestamp rule the router applies as it builds each record, so one record with a
timestamp its target refuses never stops the service.

A topic with CreateTime timestamps refuses a record stamped more than
`message.timestamp.after.max.ms` ahead of the broker's clock (one hour by default since Kafka
4.0) or more than `message.timestamp.before.max.ms` behind it (unbounded by default), and
fails the whole batch with it (INVALID_TIMESTAMP). A source topic may allow what the guard's
targets refuse (its own settings, a producer whose clock runs ahead), and the guard keeps each
record's timestamp, so as it routes:

- a *valid* record outside the clean topic's window is quarantined instead, with the reason
  `timestamp_outside_target` (its bytes and headers intact, like any quarantined record);
- a *quarantine copy* outside the quarantine topic's window is stamped when it is written;
  its original timestamp stays in the envelope (`guard.source.timestamp`).

Windows are read from the broker with the size limits (guard/service/targets.py). A record
within `MARGIN_MS` of an edge counts as outside: the guard's and the broker's clocks differ a
little, and the batch takes time to reach the broker.
"""

from __future__ import annotations

from guard.transport.base import TimestampWindow
from guard.validation.reasons import FieldError, Reason
from guard.validation.validator import Verdict

MARGIN_MS = 60_000


def _room(bound: int) -> int:
    """The part of a bound a record may use: the margin off, but never more than half."""
    return bound - min(MARGIN_MS, bound // 2)


def admits(window: TimestampWindow, ts: int | None, now_ms: int) -> bool:
    """Whether a record stamped `ts` is safely inside `window` at `now_ms`. No timestamp
    (None, or Kafka's -1) is stamped by the producer or exempt, so always inside."""
    if ts is None or ts < 0:
        return True
    if window.after_ms is not None and ts - now_ms > _room(window.after_ms):
        return False
    return window.before_ms is None or now_ms - ts <= _room(window.before_ms)


def outside_target(
    verdict: Verdict, ts: int, topic: str, window: TimestampWindow, now_ms: int
) -> Verdict:
    """A valid record's verdict turned into a quarantine verdict: `topic` would refuse its
    timestamp."""
    if ts > now_ms:
        where = f"{ts - now_ms} ms ahead of now; {topic} accepts {window.after_ms} ms ahead"
    else:
        where = f"{now_ms - ts} ms behind now; {topic} accepts {window.before_ms} ms behind"
    error = FieldError(
        "", Reason.TIMESTAMP_OUTSIDE_TARGET, f"record timestamp {ts} is {where}", verdict.version
    )
    return Verdict(False, verdict.subject, None, verdict.versions_tried, (error,))
