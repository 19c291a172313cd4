"""Route a polled batch: validate every record and build the records to produce.

Pure and broker-free: the service loop owns I/O and transactions. Valid records go to the
clean topic with the same key, headers and timestamp (value stripped only under the `strip`
policy); malformed ones go to quarantine with the original key and value bytes untouched plus
the envelope. Both mirror the source partition when the target has it, which keeps valid
records in their per-partition order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from guard.quarantine.connect import HeaderStyle
from guard.quarantine.envelope import (
    Envelope,
    Source,
    now_iso,
    previous_attempts,
    producible,
    quarantine_headers,
)
from guard.transport.base import InRecord, OutRecord, TopicPartition
from guard.validation.validator import RecordValidator, Verdict

EXAMPLES_KEPT = 5


@dataclass(frozen=True)
class RoutePlan:
    source: str
    validator: RecordValidator
    valid_topic: str
    quarantine_topic: str
    valid_partitions: int | None = None  # None: unknown, let the producer partition by key
    quarantine_partitions: int | None = None


@dataclass
class RoutingStats:
    """Counts by verdict and reason, plus a few quarantined examples (value-free)."""

    valid: int = 0
    quarantined: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    by_topic: Counter[tuple[str, str]] = field(default_factory=Counter)
    unknown_fields: Counter[str] = field(default_factory=Counter)
    examples: list[Envelope] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.valid + self.quarantined

    def add(self, other: RoutingStats) -> None:
        self.valid += other.valid
        self.quarantined += other.quarantined
        self.by_reason.update(other.by_reason)
        self.by_topic.update(other.by_topic)
        self.unknown_fields.update(other.unknown_fields)
        room = EXAMPLES_KEPT - len(self.examples)
        if room > 0:
            self.examples.extend(other.examples[:room])


@dataclass
class RoutedBatch:
    records: list[OutRecord]
    offsets: dict[TopicPartition, int]  # next offset to consume, per source partition
    stats: RoutingStats
    # Every input record with its verdict, in input order (for observers such as monitors).
    verdicts: list[tuple[InRecord, Verdict]] = field(default_factory=list)


class Router:
    def __init__(
        self,
        plans: dict[str, RoutePlan],
        version_header: str,
        tombstones: Literal["quarantine", "forward"] = "quarantine",
        header_style: HeaderStyle = "guard",
        task_id: str = "0",
    ) -> None:
        self.plans = plans
        self.version_header = version_header
        self.forward_tombstones = tombstones == "forward"
        self.header_style = header_style
        self.task_id = task_id  # Connect-style headers name the instance as the task

    def route(self, batch: list[InRecord]) -> RoutedBatch:
        out: list[OutRecord] = []
        verdicts: list[tuple[InRecord, Verdict]] = []
        offsets: dict[TopicPartition, int] = {}
        stats = RoutingStats()
        quarantined_at = now_iso()  # one clock read per batch, not per record
        for rec in batch:
            offsets[(rec.topic, rec.partition)] = rec.offset + 1
            plan = self.plans[rec.topic]  # the service subscribes to routed topics only
            subject = plan.validator.subject.name
            if rec.value is None and rec.key is not None and self.forward_tombstones:
                # A tombstone deletes its key downstream; one without a key deletes nothing
                # and is quarantined like any null value.
                verdict = Verdict(True, subject, None, (), value=None)
            else:
                verdict = plan.validator.validate(rec.value, rec.header(self.version_header))
            verdicts.append((rec, verdict))
            if verdict.ok:
                stats.valid += 1
                stats.by_topic[(rec.topic, "valid")] += 1
                stats.unknown_fields.update(verdict.unknown_fields)
                key, value, headers = producible(rec.key, verdict.value, rec.headers)
                out.append(
                    OutRecord(
                        plan.valid_topic,
                        key,
                        value,
                        headers,
                        rec.timestamp_ms,
                        mirror_partition(rec.partition, plan.valid_partitions),
                    )
                )
                continue
            envelope = Envelope(
                source=Source(rec.topic, rec.partition, rec.offset, rec.timestamp_ms),
                subject=verdict.subject,
                versions_tried=verdict.versions_tried,
                errors=verdict.errors,
                attempt=previous_attempts(rec.headers) + 1,
                quarantined_at=quarantined_at,
            )
            stats.quarantined += 1
            stats.by_topic[(rec.topic, "quarantined")] += 1
            stats.by_reason.update(envelope.reasons)
            if len(stats.examples) < EXAMPLES_KEPT:
                stats.examples.append(envelope)
            key, value, headers = producible(
                rec.key,
                rec.value,
                quarantine_headers(rec.headers, envelope, self.header_style, self.task_id),
            )
            out.append(
                OutRecord(
                    plan.quarantine_topic,
                    key,
                    value,
                    headers,
                    rec.timestamp_ms,
                    mirror_partition(rec.partition, plan.quarantine_partitions),
                )
            )
        return RoutedBatch(out, offsets, stats, verdicts)

    def quarantine_copy(self, rec: InRecord, verdict: Verdict) -> OutRecord:
        """The quarantine copy of `rec` with the errors of `verdict`, as `route` builds one;
        for a record found unfit after routing (too large for the clean topic: fit.py)."""
        plan = self.plans[rec.topic]
        envelope = Envelope(
            source=Source(rec.topic, rec.partition, rec.offset, rec.timestamp_ms),
            subject=verdict.subject,
            versions_tried=verdict.versions_tried,
            errors=verdict.errors,
            attempt=previous_attempts(rec.headers) + 1,
            quarantined_at=now_iso(),
        )
        key, value, headers = producible(
            rec.key, rec.value, quarantine_headers(rec.headers, envelope)
        )
        return OutRecord(
            plan.quarantine_topic,
            key,
            value,
            headers,
            rec.timestamp_ms,
            mirror_partition(rec.partition, plan.quarantine_partitions),
        )


def mirror_partition(partition: int, target_partitions: int | None) -> int | None:
    """The source partition when the target has it; else None (the producer partitions)."""
    if target_partitions is not None and partition < target_partitions:
        return partition
    return None
