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

Without this, one such record failed every replay of its quarantine (the broker refused the
batch: exit 3), and the records after it were never released.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from guard.config.settings import GuardSettings
from guard.replay.outputs import replay_output
from guard.replay.plan import Decision, Outcome
from guard.routing.fit import envelope_only, record_size, too_large
from guard.transport.base import OutRecord
from guard.transport.factory import describe_topics


def destination(settings: GuardSettings, source_topic: str, to_source: bool) -> str:
    """Where a passing record goes: its source topic, or its route's clean topic."""
    if to_source:
        return source_topic
    # The classifier lets through only records whose source topic has a route.
    return settings.topics[source_topic].valid_for(source_topic)


def target_limits(settings: GuardSettings, topics: Collection[str]) -> dict[str, int]:
    """The largest record each of `topics` accepts now: its `max.message.bytes` (when the
    broker says) capped by the producer's `kafka.max_request_size`."""
    cap = settings.kafka.max_request_size
    facts = describe_topics(settings.kafka, sorted(topics)) or {}
    limits = dict.fromkeys(topics, cap)
    for topic, fact in facts.items():
        if fact.max_message_bytes is not None:
            limits[topic] = min(cap, fact.max_message_bytes)
    return limits


@dataclass(frozen=True)
class TargetFit:
    """Turns a PASS whose output would not fit its destination into a FAIL (requeued) with
    `too_large_for_target`. Sizes the exact record the sink writes (same replay id and time)."""

    settings: GuardSettings
    limits: Mapping[str, int]  # destination topic -> the largest record it accepts
    replay_id: str
    at: str
    to_source: bool = False

    def __call__(self, outcome: Outcome) -> Outcome:
        rec, verdict = outcome.record, outcome.verdict
        if outcome.decision is not Decision.PASS or rec is None or verdict is None:
            return outcome
        topic = destination(self.settings, str(rec.source["topic"]), self.to_source)
        # A topic not read at the start (--to-source, an unrouted source): the producer's cap.
        cap = self.limits.get(topic, self.settings.kafka.max_request_size)
        key, value, headers = replay_output(
            outcome,
            self.replay_id,
            self.at,
            self.settings.version_header,
            self.settings.quarantine.key_bytes(),
        )
        size = record_size(OutRecord(topic, key, value, headers))
        if size <= cap:
            return outcome
        return Outcome(Decision.FAIL, rec, too_large(verdict, size, topic, cap))


def fit_quarantine(out: OutRecord, cap: int | None) -> OutRecord:
    """A requeued copy as it fits the quarantine topic: whole, or envelope-only."""
    if cap is None or record_size(out) <= cap:
        return out
    return envelope_only(out, cap)[0]
