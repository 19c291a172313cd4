"""The live guard's size rules (guard/routing/fit.py), applied to what a replay writes.

A replayed record is larger than its quarantine copy's original: replay adds its lineage
headers (`guard.source.*`, `guard.attempt`, `guard.replay.*`, `guard.signature`), and a
requeued copy carries a fresh envelope plus the replay links. Each target accepts records up to
the smaller of its topic's `max.message.bytes` and `kafka.max_request_size`, read from the
broker when the replay starts. So, as in the service:

- a record that passes but whose clean copy does not fit its destination is requeued instead,
  with the reason `too_large_for_target` (`TargetFit`, which the classifier applies, so a dry
  run reports it too);
- a requeued copy that does not fit the quarantine topic is written envelope-only
  (`fit_quarantine`, in the sink).

The timestamp rules (guard/routing/timestamps.py) likewise: a record keeps its original
timestamp, so one that passes but is stamped outside its destination's window is requeued with
the reason `timestamp_outside_target`, and a requeued copy outside the quarantine topic's
window is stamped when written (its envelope keeps the original).

Without this, one such record failed every replay of its quarantine (the broker refused the
batch: exit 3), and the records after it were never released.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

from guard.config.settings import GuardSettings
from guard.replay.outputs import replay_output
from guard.replay.plan import Decision, Outcome
from guard.routing.fit import envelope_only, record_size, too_large
from guard.routing.timestamps import admits, outside_target
from guard.transport.base import OutRecord, TimestampWindow
from guard.transport.factory import describe_topics


def destination(settings: GuardSettings, source_topic: str, to_source: bool) -> str:
    """Where a passing record goes: its source topic, or its route's clean topic."""
    if to_source:
        return source_topic
    # The classifier lets through only records whose source topic has a route.
    return settings.topics[source_topic].valid_for(source_topic)


@dataclass(frozen=True)
class Target:
    """What a topic the replay writes to accepts: records up to `limit` bytes, stamped
    inside `window` (None: any timestamp)."""

    limit: int
    window: TimestampWindow | None = None

    def stamp(self, ts: int | None, now_ms: int) -> int | None:
        """`ts` if this topic takes it, else None (the producer stamps the record)."""
        if ts is None or self.window is None or admits(self.window, ts, now_ms):
            return ts
        return None


def read_targets(settings: GuardSettings, topics: Collection[str]) -> dict[str, Target]:
    """What each of `topics` accepts now: its `max.message.bytes` (when the broker says)
    capped by the producer's `kafka.max_request_size`, and its timestamp window."""
    cap = settings.kafka.max_request_size
    facts = describe_topics(settings.kafka, sorted(topics)) or {}
    targets = dict.fromkeys(topics, Target(cap))
    for topic, fact in facts.items():
        limit = cap if fact.max_message_bytes is None else min(cap, fact.max_message_bytes)
        targets[topic] = Target(limit, fact.timestamps)
    return targets


@dataclass(frozen=True)
class TargetFit:
    """Turns a PASS whose output its destination would refuse into a FAIL (requeued): with
    `timestamp_outside_target` for its timestamp, `too_large_for_target` for its size (the
    exact record the sink writes, same replay id and time)."""

    settings: GuardSettings
    targets: Mapping[str, Target]  # destination topic -> what it accepts
    replay_id: str
    at: str
    to_source: bool = False

    def __call__(self, outcome: Outcome) -> Outcome:
        rec, verdict = outcome.record, outcome.verdict
        if outcome.decision is not Decision.PASS or rec is None or verdict is None:
            return outcome
        topic = destination(self.settings, str(rec.source["topic"]), self.to_source)
        # A topic not read at the start (--to-source, an unrouted source): the producer's cap.
        target = self.targets.get(topic, Target(self.settings.kafka.max_request_size))
        ts, now_ms = rec.source.get("timestamp_ms"), time.time_ns() // 1_000_000
        if isinstance(ts, int) and target.stamp(ts, now_ms) is None:
            assert target.window is not None
            return Outcome(
                Decision.FAIL, rec, outside_target(verdict, ts, topic, target.window, now_ms)
            )
        cap = target.limit
        key, value, headers = replay_output(
            outcome,
            self.replay_id,
            self.at,
            self.settings.version_header,
            self.settings.quarantine.key_bytes(),
        )
        size = record_size(OutRecord(topic, key, value, headers))
        if size <= cap:
            return replace(outcome, output=(key, value, headers))
        return Outcome(Decision.FAIL, rec, too_large(verdict, size, topic, cap))


def fit_quarantine(out: OutRecord, cap: int | None) -> OutRecord:
    """A requeued copy as it fits the quarantine topic: whole, or envelope-only."""
    if cap is None or record_size(out) <= cap:
        return out
    return envelope_only(out, cap)[0]
