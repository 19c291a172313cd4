"""The stable Python API: the guard's contracts and verdicts inside your own consumer.

    from guard.api import load_contracts

    contracts = load_contracts("schemas")
    orders = contracts.validator("orders")            # accepted="latest", payload_format="json"
    verdict = orders.validate(msg.value(), version_header=b"2")
    if not verdict.ok:
        headers = orders.quarantine_headers(verdict, topic=msg.topic(), partition=...,
                                            offset=..., headers=msg.headers() or [])

What is here follows semantic versioning: names are only added, never changed, until a major
release. Everything else in the package is internal. Reason codes (`Reason`) are stable
strings; see quarantine/README.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from guard.contracts.registry import Registry, load_registry
from guard.contracts.subject_config import load_subject_config
from guard.errors import ContractError, GuardError
from guard.quarantine.envelope import Envelope, HeaderStyle, Source, now_iso, quarantine_headers
from guard.transport.base import Headers
from guard.validation.decode import Limits
from guard.validation.reasons import FieldError, Reason
from guard.validation.schema_ids import RegistryLookup, SchemaIds
from guard.validation.validator import AcceptedVersions, RecordValidator, Verdict
from guard.validation.wire import PayloadFormat, WireFormat

__all__ = [
    "ContractError",
    "Contracts",
    "FieldError",
    "GuardError",
    "HeaderStyle",
    "PayloadFormat",
    "Reason",
    "Validator",
    "Verdict",
    "load_contracts",
]


def load_contracts(schemas_dir: str | Path = "schemas") -> Contracts:
    """Load and compile every contract under `schemas_dir`; a broken file raises
    ContractError naming the file, the field and the problem."""
    return Contracts(load_registry(schemas_dir))


class Contracts:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @property
    def subjects(self) -> list[str]:
        return sorted(self.registry.subjects)

    def versions(self, subject: str) -> list[int]:
        return sorted(self.registry.subject(subject).versions)

    def validator(
        self,
        subject: str,
        *,
        accepted: AcceptedVersions = "latest",
        payload_format: PayloadFormat = "json",
        registry_url: str | None = None,
        registry_subject: str | None = None,
        max_bytes: int = 1_048_576,
        max_depth: int = 64,
        expose_values: bool = False,
    ) -> Validator:
        """A validator for one subject, as the guard service builds it for a route.

        For framed payloads, schema ids pinned in `subject.yaml` name the versions; other ids
        are looked up at `registry_url` (Schema Registry REST API) under `registry_subject`
        (default `<subject>-value`)."""
        subj = self.registry.subject(subject)
        wire = None
        if payload_format != "json":
            by_id = load_subject_config(self.registry.root, subject).version_by_id()
            lookup = None
            if registry_url:
                lookup = RegistryLookup(registry_url, registry_subject or f"{subject}-value")
            wire = WireFormat(subj, payload_format, SchemaIds(subj, by_id, lookup))
        limits = Limits(max_bytes, max_depth)
        return Validator(RecordValidator(subj, accepted, limits, expose_values, wire))


class Validator:
    """Judges records of one subject. Thread-safe for concurrent `validate` calls."""

    def __init__(self, validator: RecordValidator) -> None:
        self._validator = validator

    @property
    def subject(self) -> str:
        return self._validator.subject.name

    def validate(
        self, value: bytes | None, *, version_header: bytes | str | None = None
    ) -> Verdict:
        """The verdict for one record value, exactly as the guard service would give it.
        `version_header` is the value of the record's `schema-version` header, if any."""
        header = version_header.encode() if isinstance(version_header, str) else version_header
        return self._validator.validate(value, header)

    def validate_dict(
        self, record: Mapping[str, Any], *, version_header: bytes | str | None = None
    ) -> Verdict:
        """The verdict for an already-decoded record (encoded to JSON, so the same poison
        rules apply: NaN and Infinity are refused)."""
        try:
            value = json.dumps(record, allow_nan=False, ensure_ascii=False).encode(
                "utf-8", "surrogatepass"
            )
        except ValueError:
            error = FieldError("", Reason.NOT_FINITE, "NaN or Infinity has no JSON form")
            return Verdict(False, self.subject, None, (), (error,))
        except TypeError as exc:
            error = FieldError("", Reason.WRONG_TYPE, f"not JSON-serialisable: {exc}")
            return Verdict(False, self.subject, None, (), (error,))
        return self.validate(value, version_header=version_header)

    def quarantine_headers(
        self,
        verdict: Verdict,
        *,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
        timestamp_ms: int | None = None,
        headers: Sequence[tuple[str, bytes | None]] = (),
        style: HeaderStyle = "guard",
    ) -> Headers:
        """The headers the guard would write on the quarantine copy of this record: the
        original `headers`, then the envelope (see quarantine/README.md). Null header values
        are kept as empty values."""
        if verdict.ok:
            raise ValueError("a valid record has no quarantine envelope")
        envelope = Envelope(
            source=Source(topic, partition, offset, timestamp_ms),
            subject=verdict.subject,
            versions_tried=verdict.versions_tried,
            errors=verdict.errors,
            attempt=1,
            quarantined_at=now_iso(),
        )
        out = quarantine_headers(list(headers), envelope, style)
        return [(k, v if v is not None else b"") for k, v in out]
