"""Decide, per quarantined record, what a replay does with it. Pure: no I/O.

A record is skipped when it was already handled by an earlier replay (replayed, or requeued
and so superseded by a newer copy), when the filters exclude it, when its copy is not whole
(written envelope-only, or quarantined for a header key that is not UTF-8: not all of its
original headers are in it), when it has already been replayed `max_attempts` times (the loop
guard: `guard.attempt` counts quarantines, so a record quarantined N times was replayed N - 1
times; `force` overrides), or when there is nowhere to send it (its source topic has no route
in the config, unless it goes back `to_source`). Otherwise it is re-validated with the same
rules as the live guard: its original version header is honoured, or `version` pins one
contract version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from guard.config.settings import Route
from guard.contracts.registry import Registry
from guard.errors import ContractError
from guard.quarantine.filters import RecordFilter
from guard.quarantine.records import QuarantinedRecord, UnreadableRecord
from guard.routing.fit import H_OMITTED
from guard.transport.base import InHeaders
from guard.validation.decode import Limits
from guard.validation.reasons import Reason
from guard.validation.validator import (
    AcceptedVersions,
    RecordValidator,
    Verdict,
    ambiguous_version,
)
from guard.validation.wire import WireFormat


class Decision(StrEnum):
    PASS = "pass"
    FAIL = "still_failing"
    ALREADY_HANDLED = "already_handled"
    FILTERED = "filtered"
    LOOP_GUARD = "loop_guard"
    NO_DESTINATION = "no_destination"
    UNREADABLE = "unreadable"
    UNKNOWN_SUBJECT = "unknown_subject"
    # Written envelope-only (too large for the quarantine topic): the value is not here to
    # replay; fetch it from the source coordinates (guard.omitted.value.size/.sha256).
    VALUE_OMITTED = "value_omitted"
    # Quarantined for a header key that is not UTF-8: its original headers are not all in the
    # copy (kafka-python keeps the malformed ones as raw bytes in the envelope, confluent-kafka
    # reads none of them), so a replay would publish it without them. Never written: fetch
    # it from the source coordinates.
    MALFORMED_HEADER = "malformed_header"

    @property
    def writes(self) -> bool:
        return self in (Decision.PASS, Decision.FAIL)


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    record: QuarantinedRecord | None = None
    verdict: Verdict | None = None
    # Key, value and headers to write, when the size check already built them (TargetFit):
    # the sink writes these instead of building them again.
    output: tuple[bytes | None, bytes | None, InHeaders] | None = None


class Classifier:
    def __init__(
        self,
        registry: Registry,
        routes: Mapping[str, Route],
        *,
        version_header: str = "schema-version",
        limits: Limits | None = None,
        expose_values: bool = False,
        version: int | None = None,
        max_attempts: int = 3,
        force: bool = False,
        record_filter: RecordFilter | None = None,
        handled: Mapping[str, str] | None = None,
        destination: Literal["clean", "source", "files"] = "files",
        wires: Mapping[str, WireFormat] | None = None,
        fit: Callable[[Outcome], Outcome] | None = None,
        forward_tombstones: bool = False,
    ) -> None:
        self.registry = registry
        self.wires = wires or {}  # source topic -> its framing (Schema Registry routes)
        self.routes = routes
        self.version_header = version_header
        self.limits = limits or Limits()
        self.expose_values = expose_values
        self.version = version
        self.max_attempts = max_attempts
        self.force = force
        self.filter = record_filter or RecordFilter()
        self.forward_tombstones = forward_tombstones  # `tombstones: forward`, as the router
        self.handled = handled or {}
        self.destination = destination
        # Applied to each PASS/FAIL outcome: the size rules (guard/replay/fit.py TargetFit).
        self.fit = fit
        self._validators: dict[tuple[str, str | None], RecordValidator | None] = {}

    def classify(self, item: QuarantinedRecord | UnreadableRecord) -> Outcome:
        if isinstance(item, UnreadableRecord):
            return Outcome(Decision.UNREADABLE)
        rec = item
        if rec.location.key in self.handled:
            return Outcome(Decision.ALREADY_HANDLED, rec)
        if not self.filter.matches(rec):
            return Outcome(Decision.FILTERED, rec)
        if _value_omitted(rec):
            return Outcome(Decision.VALUE_OMITTED, rec)
        if Reason.MALFORMED_HEADER.value in rec.reasons:
            return Outcome(Decision.MALFORMED_HEADER, rec)
        if rec.attempt - 1 >= self.max_attempts and not self.force:
            return Outcome(Decision.LOOP_GUARD, rec)
        source_topic = rec.source.get("topic")
        if self.destination == "source" and not source_topic:
            return Outcome(Decision.NO_DESTINATION, rec)
        if self.destination == "clean" and source_topic not in self.routes:
            return Outcome(Decision.NO_DESTINATION, rec)
        validator = self._validator(rec.subject, rec.source.get("topic"))
        if validator is None:
            return Outcome(Decision.UNKNOWN_SUBJECT, rec)
        found = [v for k, v in rec.original_headers if k == self.version_header]
        if self.version is None and len(found) > 1:
            verdict = ambiguous_version(validator.subject.name, len(found))
        elif rec.value is None and rec.key is not None and self.forward_tombstones:
            # The live router's rule: a keyed tombstone deletes its key downstream.
            verdict = Verdict(True, validator.subject.name, None, (), value=None)
        elif self.version is not None:  # `--version N` decides; the replay writes one header
            verdict = validator.validate(rec.value, None)
        else:
            verdict = validator.validate(rec.value, found[0] if found else None)
        outcome = Outcome(Decision.PASS if verdict.ok else Decision.FAIL, rec, verdict)
        return self.fit(outcome) if self.fit is not None else outcome

    def _validator(self, subject: str, source_topic: str | None) -> RecordValidator | None:
        key = (subject, source_topic)
        if key not in self._validators:
            route = self.routes.get(source_topic or "")
            accepted: AcceptedVersions
            wire = None
            if route is not None and route.subject == subject:
                wire = self.wires.get(source_topic or "")
            if self.version is not None:
                accepted = [self.version]
            elif route is not None and route.subject == subject:
                accepted = route.accepted_versions
            else:
                accepted = "latest"
            try:
                self._validators[key] = RecordValidator(
                    self.registry.subject(subject), accepted, self.limits, self.expose_values, wire
                )
            except ContractError:
                self._validators[key] = None
        return self._validators[key]


def _value_omitted(rec: QuarantinedRecord) -> bool:
    return any(k == H_OMITTED and b"value" in (v or b"").split(b",") for k, v in rec.headers)
