"""The service's shadow rollout: every routed batch is judged again by each candidate
version (as if promoted) without changing where any record goes.

A BatchObserver (guard/service/runner.py): counts are staged in `before_commit`, together
with one snapshot record per (subject, candidate) for the shadow topic inside the batch's own
transaction, and applied in `after_commit`; an aborted batch is dropped and judged again when
polled again. So the shadow topic holds each instance run's cumulative counts of exactly the
committed batches, keyed `<instance>/<run>/<subject>/v<N>` (compacted: the last per key is what
`guard shadow status` merges). Routes with Schema Registry framing are not shadowed.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from guard.config.settings import GuardSettings
from guard.contracts.registry import Registry
from guard.routing.router import RoutedBatch, TargetCheck
from guard.shadow.counts import ShadowCounts, coordinates
from guard.shadow.metrics import ShadowMetrics
from guard.shadow.view import candidate_validators
from guard.transport.base import InRecord, OutRecord
from guard.validation.decode import Limits
from guard.validation.reasons import FieldError, Reason
from guard.validation.validator import RecordValidator, Verdict, ambiguous_version

Key = tuple[str, int]  # (subject, candidate version)


class ShadowObserver:
    def __init__(
        self, settings: GuardSettings, registry: Registry, metrics: ShadowMetrics | None = None
    ) -> None:
        self.settings = settings
        self.topic = settings.shadow_topic
        self.instance = settings.kafka.instance_id
        self.run = f"{int(time.time())}-{uuid.uuid4().hex[:6]}"
        self.metrics = metrics
        limits = Limits(settings.limits.max_bytes, settings.limits.max_depth)
        self.routes: dict[str, tuple[str, dict[int, RecordValidator]]] = {}
        for source, route in settings.topics.items():
            if route.payload_format != "json":
                continue
            subject = registry.subject(route.subject)
            shadows = candidate_validators(
                subject, route.accepted_versions, limits, settings.expose_values
            )
            if shadows:
                self.routes[source] = (subject.name, shadows)
        self.totals: dict[Key, ShadowCounts] = {}
        self._staged: dict[Key, ShadowCounts] | None = None

    @property
    def active(self) -> bool:
        """Whether any route has a candidate version to shadow."""
        return bool(self.routes)

    def start(self) -> None:
        """Create the compacted shadow topic if it does not exist (kafka.create_topics)."""
        if self.settings.kafka.create_topics:
            from guard.transport.factory import ensure_topics

            configs = {self.topic: {"cleanup.policy": "compact"}}
            ensure_topics(self.settings.kafka, {self.topic: 1}, configs)

    # -- BatchObserver ------------------------------------------------------------------

    def before_commit(self, routed: RoutedBatch) -> list[OutRecord]:
        staged: dict[Key, ShadowCounts] = {}
        checks = routed.target_check_per_record()
        for (rec, verdict), check in zip(routed.verdicts, checks, strict=True):
            route = self.routes.get(rec.topic)
            if route is None:
                continue
            subject, shadows = route
            where = coordinates(rec.topic, rec.partition, rec.offset, rec.key)
            for version, validator in shadows.items():
                counts = staged.get((subject, version))
                if counts is None:
                    counts = staged[(subject, version)] = ShadowCounts(subject, version)
                counts.add(verdict.ok, self._judge(rec, validator, check), where)
        self._staged = staged
        return [self._snapshot(key, counts) for key, counts in staged.items()]

    def after_commit(self) -> None:
        staged, self._staged = self._staged, None
        for key, counts in (staged or {}).items():
            self.totals.setdefault(key, ShadowCounts(*key)).merge(counts)
            if self.metrics is not None:
                self.metrics.add(counts)

    def after_abort(self) -> None:
        self._staged = None

    # -- helpers ------------------------------------------------------------------------

    def _judge(
        self, rec: InRecord, validator: RecordValidator, check: TargetCheck | None
    ) -> Verdict:
        """The verdict the router would give with the candidate promoted (router.py), its
        clean topic's checks included (`check`: as the router met them for this record)."""
        name = validator.subject.name
        header = None
        headers = 0
        for key, value in rec.headers:
            if key == self.settings.version_header:
                header = value
                headers += 1
        if headers > 1:  # as the router: no contract is chosen for it
            verdict = ambiguous_version(name, headers)
        elif rec.value is None and rec.key is not None and self.settings.tombstones == "forward":
            verdict = Verdict(True, name, None, (), value=None)
        else:
            verdict = validator.validate(rec.value, header)
        if rec.header_error is not None:
            error = FieldError("", Reason.MALFORMED_HEADER, rec.header_error)
            return Verdict(False, name, None, verdict.versions_tried, (error, *verdict.errors))
        # A record the candidate passes still has to fit its clean topic (size, timestamp).
        return verdict if check is None else check(rec, verdict)

    def _snapshot(self, key: Key, staged: ShadowCounts) -> OutRecord:
        cumulative = ShadowCounts(*key)
        if key in self.totals:
            cumulative.merge(self.totals[key])
        cumulative.merge(staged)
        value: dict[str, Any] = {
            "instance": self.instance,
            "run": self.run,
            "at": time.time(),
            **cumulative.to_json(),
        }
        record_key = f"{self.instance}/{self.run}/{key[0]}/v{key[1]}".encode()
        body = json.dumps(value, separators=(",", ":")).encode()
        return OutRecord(self.topic, record_key, body, [("guard.event", b"shadow")])
