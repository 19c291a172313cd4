"""Validate one record's bytes against a subject's contracts, resolving the version per record.

Resolution: if the version header is present, only that version is tried (unknown -> the
`unknown_version` reason, retired or not accepted -> `retired_version`). Without it, the
accepted versions are tried newest first; the first that passes wins, and a record that
passes none carries the errors of the newest one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from guard.contracts.registry import Contract, Subject
from guard.errors import ConfigError
from guard.validation.decode import Limits, decode
from guard.validation.mapping import map_errors
from guard.validation.reasons import FieldError, Reason

AcceptedVersions = Literal["latest", "all"] | list[int]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome for one record. Invalid records are data, not exceptions."""

    ok: bool
    subject: str
    version: int | None  # the version that accepted the record
    versions_tried: tuple[int, ...]
    errors: tuple[FieldError, ...] = ()
    value: bytes | None = None  # what goes to the clean topic (stripped if the policy says so)
    unknown_fields: tuple[str, ...] = ()
    record: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Distinct reason codes, in first-seen order."""
        return tuple(dict.fromkeys(e.code.value for e in self.errors))


class RecordValidator:
    """Everything needed to judge records of one subject, prepared once."""

    def __init__(
        self,
        subject: Subject,
        accepted: AcceptedVersions = "latest",
        limits: Limits | None = None,
        expose_values: bool = False,
    ) -> None:
        self.subject = subject
        self.limits = limits or Limits()
        self.expose_values = expose_values
        self._accepted = accepted if isinstance(accepted, str) else sorted(accepted)
        active = subject.active
        if isinstance(accepted, str):  # "latest" | "all"
            # `latest` means what it says for the version header too: a producer naming an
            # older active version cannot pick the contract it is checked against.
            self.fallback: tuple[int, ...] = tuple(active[:1] if accepted == "latest" else active)
            allowed_by_header = set(self.fallback)
        else:
            missing = sorted(set(accepted) - set(subject.versions))
            if missing:
                raise ConfigError(
                    f"subject {subject.name!r}: accepted versions {missing} have no contract"
                )
            allowed_by_header = set(accepted) & set(active)
            self.fallback = tuple(sorted(allowed_by_header, reverse=True))
        if not self.fallback:
            raise ConfigError(
                f"subject {subject.name!r}: no active version to accept "
                f"(accepted: {accepted}, active: {active or 'none'})"
            )
        self._allowed_by_header = frozenset(allowed_by_header)
        self._by_header: dict[bytes, int] = {}
        for v in subject.versions:
            for spelling in (str(v), f"v{v}", f"V{v}"):
                self._by_header[spelling.encode()] = v

    def validate(self, value: bytes | None, version_header: bytes | None = None) -> Verdict:
        name = self.subject.name
        if version_header is not None:
            version = self._by_header.get(version_header.strip())
            if version is None:
                err = FieldError(
                    "", Reason.UNKNOWN_VERSION, "version header names no known version"
                )
                return Verdict(False, name, None, (), (err,))
            if version not in self._allowed_by_header:
                err = FieldError(
                    "",
                    Reason.RETIRED_VERSION,
                    f"version {version} is retired"
                    if version not in self.subject.active
                    else f"version {version} is not accepted here (accepted: {self._accepted})",
                    version,
                )
                return Verdict(False, name, None, (version,), (err,))
            candidates: tuple[int, ...] = (version,)
        else:
            candidates = self.fallback
        obj, decode_error = decode(value, self.limits)
        if obj is None:
            assert decode_error is not None
            return Verdict(False, name, None, candidates, (decode_error,))
        first_errors: tuple[FieldError, ...] = ()
        for version in candidates:
            contract = self.subject.versions[version]
            try:
                contract.model.model_validate(obj)
            except ValidationError as exc:
                if not first_errors:
                    first_errors = map_errors(
                        exc.errors(include_url=False, include_context=False),
                        version,
                        self.expose_values,
                    )
                continue
            return self._accept(contract, candidates, obj, value)
        return Verdict(False, name, None, candidates, first_errors, record=obj)

    def _accept(
        self,
        contract: Contract,
        candidates: tuple[int, ...],
        obj: dict[str, Any],
        value: bytes | None,
    ) -> Verdict:
        shape = contract.shape
        unknown: tuple[str, ...] = ()
        if shape.tolerates_unknown:
            unknown = tuple(shape.unknown_paths(obj))
        out = value
        if unknown and shape.strips:
            obj = shape.strip(obj)
            out = _encode(obj)
        tried = candidates[: candidates.index(contract.version) + 1]
        return Verdict(True, self.subject.name, contract.version, tried, (), out, unknown, obj)


def _encode(obj: dict[str, Any]) -> bytes:
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        # A lone surrogate escape (valid JSON, not encodable as UTF-8) in data the contract
        # does not check: keep it as an escape rather than fail the record.
        return json.dumps(obj, separators=(",", ":")).encode()
