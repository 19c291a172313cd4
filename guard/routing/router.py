"""Route a polled batch: validate every record and build the records to produce.

Pure and broker-free: the service loop owns I/O and transactions. Valid records go to the
clean topic with the same key, headers and timestamp (value stripped only under the `strip`
policy); malformed ones go to quarantine with the original key and value bytes untouched plus
the envelope. Both mirror the source partition when the target has it, which keeps valid
records in their per-partition order. Every record is built to fit its target's size limit
(guard/routing/fit.py), in the same pass.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from guard.quarantine.envelope import (
    PREFIX,
    Envelope,
    HeaderStyle,
    Source,
    encode_envelope,
    envelope_headers,
    error_summary,
    now_iso,
    original_headers,
)
from guard.quarantine.trust import EnvelopeTrust, split_malformed
from guard.routing.fit import Oversize, envelope_only, record_size, too_large
from guard.routing.timestamps import admits, outside_target
from guard.transport.base import InHeaders, InRecord, OutRecord, TimestampWindow, TopicPartition
from guard.validation.reasons import FieldError, Reason
from guard.validation.validator import RecordValidator, Verdict, ambiguous_version

EXAMPLES_KEPT = 5


@dataclass(frozen=True)
class RoutePlan:
    source: str
    validator: RecordValidator
    valid_topic: str
    quarantine_topic: str
    valid_partitions: int | None = None  # None: unknown, let the producer partition by key
    quarantine_partitions: int | None = None
    # The largest record each target accepts (guard/routing/fit.py); None: not checked.
    valid_limit: int | None = None
    quarantine_limit: int | None = None
    # The timestamps each target accepts (guard/routing/timestamps.py); None: any.
    valid_window: TimestampWindow | None = None
    quarantine_window: TimestampWindow | None = None


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
    # Records made to fit their target as they were routed (for the log).
    oversize: list[Oversize] = field(default_factory=list)
    # The source partitions this instance owns (set by the transaction for its observers,
    # which must tell a silent partition from one it does not read); None when not known.
    owned: frozenset[TopicPartition] | None = None
    # Set by the transaction for its observers: the broker failed (a transaction failed or
    # was dropped, or the probe could not read it) and has not answered since. While it is
    # set this instance cannot read its sources, so the time is no source's silence.
    broker_failing: bool = False
    # The clean topics' checks as each routed slice met them, in input order (for observers
    # that judge the records again, such as the shadow rollout).
    target_checks: list[TargetCheck] = field(default_factory=list)

    def target_check_per_record(self) -> list[TargetCheck | None]:
        """The check each of `verdicts` met (None where not known), in the same order."""
        out: list[TargetCheck | None] = [c for c in self.target_checks for _ in range(c.records)]
        return out + [None] * (len(self.verdicts) - len(out))


@dataclass(frozen=True)
class TargetCheck:
    """The clean topic's checks (timestamp window, size limit) as the router applied them to
    one routed slice of `records` records: its plans, its clock reading and the headers it
    admitted for the records that carried `guard.*` ones. Calling it gives the verdict the
    router would have given a record judged `verdict` instead (`fit_target`)."""

    plans: Mapping[str, RoutePlan]
    now_ms: int
    admitted: Mapping[tuple[str, int, int], InHeaders]  # by (topic, partition, offset)
    records: int

    def __call__(self, rec: InRecord, verdict: Verdict) -> Verdict:
        if not verdict.ok:
            return verdict
        headers = self.admitted.get((rec.topic, rec.partition, rec.offset), rec.headers)
        return fit_target(self.plans[rec.topic], rec, verdict, headers, self.now_ms)[1]


def fit_target(
    plan: RoutePlan, rec: InRecord, verdict: Verdict, headers: InHeaders, now_ms: int
) -> tuple[OutRecord, Verdict, int | None]:
    """A valid record as its clean topic would get it, and its verdict after that topic's
    checks: `verdict` when the topic takes it, else a quarantine verdict (a timestamp outside
    the topic's window; too large, with its size, for the log)."""
    vp = plan.valid_partitions
    valid = OutRecord(
        plan.valid_topic,
        rec.key,
        verdict.value,
        headers,  # byte for byte, nulls included; guard.* ones made untrusted
        rec.timestamp_ms,
        rec.partition if vp is not None and rec.partition < vp else None,
    )
    cap, window, ts = plan.valid_limit, plan.valid_window, rec.timestamp_ms
    if window is not None and ts is not None and not admits(window, ts, now_ms):
        # A timestamp the clean topic would refuse: quarantined instead.
        return valid, outside_target(verdict, ts, plan.valid_topic, window, now_ms), None
    if cap is not None and (size := record_size(valid)) > cap:
        # Too large for the clean topic: quarantined instead, its bytes intact.
        return valid, too_large(verdict, size, plan.valid_topic, cap), size
    return valid, verdict, None


def merge_routed(parts: list[RoutedBatch]) -> RoutedBatch:
    """Consecutive slices of one polled batch as one routed batch (input order kept; a later
    slice's next offset for a partition is the batch's)."""
    if len(parts) == 1:
        return parts[0]
    merged = RoutedBatch([], {}, RoutingStats())
    for part in parts:
        merged.records.extend(part.records)
        merged.offsets.update(part.offsets)
        merged.stats.add(part.stats)
        merged.verdicts.extend(part.verdicts)
        merged.oversize.extend(part.oversize)
        merged.target_checks.extend(part.target_checks)
    return merged


class Router:
    def __init__(
        self,
        plans: dict[str, RoutePlan],
        version_header: str,
        tombstones: Literal["quarantine", "forward"] = "quarantine",
        trust: EnvelopeTrust | None = None,
        header_style: HeaderStyle = "guard",
        task_id: str = "0",
    ) -> None:
        self.plans = dict(plans)
        self.version_header = version_header
        self.forward_tombstones = tombstones == "forward"
        self.trust = trust or EnvelopeTrust()
        self.header_style = header_style
        self.task_id = task_id  # Connect-style headers name the instance as the task

    def update_plans(self, plans: Mapping[str, RoutePlan]) -> None:
        """Target partition counts and size limits as last read from the broker."""
        self.plans = dict(plans)

    def route(self, batch: list[InRecord]) -> RoutedBatch:
        """Verdicts and output records for one batch. Counters are kept in locals and folded
        into the stats once per batch; the envelope's fixed parts come from caches."""
        out: list[OutRecord] = []
        verdicts: list[tuple[InRecord, Verdict]] = []
        offsets: dict[TopicPartition, int] = {}
        stats = RoutingStats()
        by_topic: dict[tuple[str, str], int] = {}
        unknown: list[str] = []
        oversize: list[Oversize] = []
        admitted: dict[tuple[str, int, int], InHeaders] = {}
        quarantined_at = now_iso().encode()  # one clock read per batch, not per record
        now_ms = time.time_ns() // 1_000_000
        plans, version_header, forward = self.plans, self.version_header, self.forward_tombstones
        for rec in batch:
            offsets[(rec.topic, rec.partition)] = rec.offset + 1
            plan = plans[rec.topic]  # the service subscribes to routed topics only
            headers: InHeaders = rec.headers
            # One pass over the headers: the version header (more than one is ambiguous:
            # quarantined) and whether any claims to be the guard's.
            version = None
            versions = 0
            guard_headers = False
            for name, hv in headers:
                if name == version_header:
                    version = hv
                    versions += 1
                elif name.startswith(PREFIX):
                    guard_headers = True
            attempts = 0
            if guard_headers:
                headers, attempts = self.trust.admit(
                    rec.key,
                    rec.value,
                    headers,
                    version_header,
                    (rec.topic, rec.partition, rec.offset),
                )
                admitted[(rec.topic, rec.partition, rec.offset)] = headers
            if versions > 1:
                verdict = ambiguous_version(plan.validator.subject.name, versions)
            elif rec.value is None and rec.key is not None and forward:
                # A tombstone deletes its key downstream; one without a key deletes nothing
                # and is quarantined like any null value.
                verdict = Verdict(True, plan.validator.subject.name, None, (), value=None)
            else:
                verdict = plan.validator.validate(rec.value, version)
            raw: InHeaders = []
            if rec.header_error is not None:
                headers, raw = split_malformed(headers)
                errors = (FieldError("", Reason.MALFORMED_HEADER, rec.header_error),)
                verdict = Verdict(
                    False,
                    verdict.subject,
                    None,
                    verdict.versions_tried,
                    errors + verdict.errors,
                    record=verdict.record,
                )
            if verdict.ok:
                if verdict.unknown_fields:
                    unknown.extend(verdict.unknown_fields)
                valid, verdict, too_big = fit_target(plan, rec, verdict, headers, now_ms)
                if verdict.ok:
                    verdicts.append((rec, verdict))
                    key = (rec.topic, "valid")
                    by_topic[key] = by_topic.get(key, 0) + 1
                    out.append(valid)
                    continue
                if too_big is not None:
                    cap = plan.valid_limit
                    assert cap is not None  # a size is given only against a limit
                    oversize.append(_oversize(rec, too_big, plan.valid_topic, cap, "quarantined"))
            verdicts.append((rec, verdict))
            key = (rec.topic, "quarantined")
            by_topic[key] = by_topic.get(key, 0) + 1
            if guard_headers:
                # A copy the guard quarantined before: its old envelope goes (a producer's
                # own `__connect.errors.*` headers, e.g. from a Connect DLQ, are its data).
                headers = original_headers(headers, self.header_style)
            copy = self._quarantine_copy(
                rec, plan, verdict, [*headers, *raw], attempts + 1, quarantined_at, stats, now_ms
            )
            cap = plan.quarantine_limit
            if cap is not None and (size := record_size(copy)) > cap:
                copy, omitted = envelope_only(copy, cap)
                oversize.append(
                    _oversize(rec, size, plan.quarantine_topic, cap, "envelope-only", omitted)
                )
            out.append(copy)
        stats.by_topic.update(by_topic)
        stats.unknown_fields.update(unknown)
        stats.valid = sum(n for (_, kind), n in by_topic.items() if kind == "valid")
        stats.quarantined = len(batch) - stats.valid
        check = TargetCheck(plans, now_ms, admitted, len(batch))
        return RoutedBatch(out, offsets, stats, verdicts, oversize, target_checks=[check])

    def _quarantine_copy(
        self,
        rec: InRecord,
        plan: RoutePlan,
        verdict: Verdict,
        headers: InHeaders,
        attempt: int,
        quarantined_at: bytes,
        stats: RoutingStats,
        now_ms: int,
    ) -> OutRecord:
        """The record as it goes to quarantine: key and value untouched, `headers` (already
        cleared of the guard's own) followed by a fresh envelope in the configured style; its
        timestamp kept unless the quarantine topic would refuse it (then the producer stamps
        it; the envelope keeps the original)."""
        coords = (rec.topic, rec.partition, rec.offset, rec.timestamp_ms, None, None)
        summary = error_summary(verdict.errors)
        stats.by_reason.update(summary.reasons)
        envelope: Envelope | None = None
        if len(stats.examples) < EXAMPLES_KEPT or self.header_style != "guard":
            envelope = Envelope(
                Source(*coords[:4]),
                verdict.subject,
                verdict.versions_tried,
                verdict.errors,
                attempt,
                quarantined_at.decode(),
            )
            if len(stats.examples) < EXAMPLES_KEPT:
                stats.examples.append(envelope)
        if envelope is not None and self.header_style != "guard":
            added = envelope_headers(envelope, self.header_style, self.task_id)
        else:
            added = encode_envelope(
                coords,
                verdict.subject,
                verdict.versions_tried,
                verdict.errors,
                attempt,
                quarantined_at,
            )
        qp, window = plan.quarantine_partitions, plan.quarantine_window
        ts: int | None = rec.timestamp_ms
        if window is not None and ts is not None and not admits(window, ts, now_ms):
            ts = None
        return OutRecord(
            plan.quarantine_topic,
            rec.key,
            rec.value,
            [*headers, *added],
            ts,
            rec.partition if qp is not None and rec.partition < qp else None,
        )


def _oversize(
    rec: InRecord, size: int, target: str, cap: int, action: str, omitted: tuple[str, ...] = ()
) -> Oversize:
    return Oversize(rec.topic, rec.partition, rec.offset, size, target, cap, action, omitted)


def mirror_partition(partition: int, target_partitions: int | None) -> int | None:
    """The source partition when the target has it; else None (the producer partitions). A
    negative one (only a tampered envelope names it) is never a partition."""
    if target_partitions is not None and 0 <= partition < target_partitions:
        return partition
    return None
