"""What the service knows about its output topics, kept current while it runs.

Partition counts, size limits and timestamp windows are read at start and re-read after any
failure: a clean or quarantine topic that was deleted (and re-created by the broker, often
with one partition) or resized is then routed by its current count instead of failing every
retry with a partition that no longer exists. With `kafka.create_topics`, a missing target is
created again with the partition count chosen at start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import structlog

from guard.config.settings import GuardSettings
from guard.routing.fit import record_size
from guard.routing.router import RoutedBatch, Router
from guard.transport.base import Pipe, TopicFacts

log = structlog.get_logger(__name__)

# Reads targets from the broker; None when the client cannot (then the pipe gives counts).
Describe = Callable[[Sequence[str]], Mapping[str, TopicFacts] | None]


class TargetWatch:
    """Target partition counts and limits; `describe` reads them from the broker (without
    it, counts come from the pipe and only the producer's size limit is known)."""

    def __init__(self, settings: GuardSettings, describe: Describe | None = None) -> None:
        self.producer_max = settings.kafka.max_request_size
        self.create_topics = settings.kafka.create_topics
        self.describe = describe
        self.wanted: dict[str, int] = {}  # partition counts to create missing targets with
        self.configs: dict[str, dict[str, str]] = {}  # and their topic settings
        self.stale = False
        self._read_once = False
        self._limits: dict[str, int] = {}
        # Lowered after the broker refused a record our estimate let through; kept all run.
        self._refused_below: dict[str, int] = {}

    def limit(self, topic: str) -> int:
        return min(
            self.producer_max,
            self._limits.get(topic, self.producer_max),
            self._refused_below.get(topic, self.producer_max),
        )

    def refresh(self, router: Router, pipe: Pipe) -> None:
        """Re-read every target and update the router's plans: partition counts and size
        limits (and re-create missing targets)."""
        targets = target_topics(router)
        facts = self._read(targets, pipe)
        missing = {t: self.wanted[t] for t in targets if t not in facts and t in self.wanted}
        if missing and self.create_topics:
            log.warning("output topics missing; creating them again", topics=sorted(missing))
            configs = {t: c for t, c in self.configs.items() if t in missing}
            pipe.ensure_topics(missing, configs)
            facts = self._read(targets, pipe)
        self._limits = {
            t: f.max_message_bytes for t, f in facts.items() if f.max_message_bytes is not None
        }
        plans = {}
        for source, plan in router.plans.items():
            valid, quarantine = facts.get(plan.valid_topic), facts.get(plan.quarantine_topic)
            new = replace(
                plan,
                valid_partitions=valid.partitions if valid else None,
                quarantine_partitions=quarantine.partitions if quarantine else None,
                valid_limit=self.limit(plan.valid_topic),
                quarantine_limit=self.limit(plan.quarantine_topic),
                valid_window=valid.timestamps if valid else None,
                quarantine_window=quarantine.timestamps if quarantine else None,
            )
            counts = (new.valid_partitions, new.quarantine_partitions)
            if counts != (plan.valid_partitions, plan.quarantine_partitions) and self._read_once:
                # the topology changed while running
                log.warning(
                    "output topic partitions changed",
                    source=source,
                    valid=(plan.valid_partitions, new.valid_partitions),
                    quarantine=(plan.quarantine_partitions, new.quarantine_partitions),
                )
            plans[source] = new
        router.update_plans(plans)
        self._read_once, self.stale = True, False
        self.cap_batches(pipe, targets)

    def cap_batches(self, pipe: Pipe, targets: list[str]) -> None:
        """One produce request must fit the smallest target: a client that batches several
        records into it (librdkafka) would otherwise be refused for the batch, not a record."""
        if targets:
            pipe.cap_batch_bytes(min(self.limit(t) for t in targets))

    def _read(self, targets: list[str], pipe: Pipe) -> Mapping[str, TopicFacts]:
        described = self.describe(targets) if self.describe is not None else None
        if described is not None:
            return described
        counts = {t: pipe.partition_count(t) for t in targets}
        return {t: TopicFacts(n) for t, n in counts.items() if n}

    def lower_after_refusal(self, routed: RoutedBatch, topic: str | None) -> bool:
        """The broker refused a record of this batch as too large: take the refusing target's
        limit (every target's, when the client did not say which refused) below the batch's
        largest record for it, so the retried batch sends that record differently. False
        when nothing can be lowered (the refusal cannot be avoided)."""
        lowered = False
        largest: dict[str, int] = {}
        for rec in routed.records:
            if topic is None or rec.topic == topic:
                largest[rec.topic] = max(largest.get(rec.topic, 0), record_size(rec))
        for topic, size in largest.items():
            if size - 1 < self.limit(topic) and size > 1024:
                self._refused_below[topic] = size - 1
                lowered = True
        if lowered:
            log.warning(
                "broker refused a record as too large; lowering limits",
                limits=dict(self._refused_below),
            )
        return lowered


def target_topics(router: Router) -> list[str]:
    """The valid and quarantine topics of every source, sorted."""
    return sorted({t for p in router.plans.values() for t in (p.valid_topic, p.quarantine_topic)})
