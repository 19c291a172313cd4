"""Validate one record's bytes against a subject's contracts, resolving the version per record.

Resolution: if the version header is present, only that version is tried (unknown -> the
`unknown_version` reason, retired or not accepted -> `retired_version`; two or more headers
-> `ambiguous_version`, decided by the caller that sees the headers). Without it, the
accepted versions are tried newest first; the first that passes wins, and a record that
passes none carries the errors of the newest one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import ValidationError

from guard.contracts.registry import Contract, Subject
from guard.contracts.rules import RuleSet
from guard.contracts.unknown import Shape
from guard.errors import ConfigError
from guard.validation.decode import Limits, decode
from guard.validation.mapping import map_errors
from guard.validation.reasons import FieldError, Reason
from guard.validation.rules import judge
from guard.validation.wire import FRAME_BYTES, WireFormat, framing_hint

# Decode failures that framed bytes on a plain-JSON route produce (the hint says why).
_UNREADABLE = frozenset({Reason.NOT_JSON, Reason.NOT_UTF8})

AcceptedVersions = Literal["latest", "all"] | list[int]


# Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__,
# 0.7 us per record on the hot path (benchmarks/routing.py). Never mutated after creation.
@dataclass(slots=True)
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
    # `warn` rules that did not hold on the accepting version (rule_failed / rule_error
    # entries naming the rule): the record passes, the warnings are counted.
    warnings: tuple[FieldError, ...] = ()

    @property
    def reasons(self) -> tuple[str, ...]:
        """Distinct reason codes, in first-seen order."""
        return tuple(dict.fromkeys(e.code.value for e in self.errors))


def ambiguous_version(subject: str, headers: int) -> Verdict:
    """The verdict for a record carrying `headers` (> 1) version headers: whichever one a
    reader takes, another reader may take another, so no contract is chosen for it."""
    err = FieldError(
        "",
        Reason.AMBIGUOUS_VERSION,
        f"{headers} version headers; a record may carry at most one",
    )
    return Verdict(False, subject, None, (), (err,))


class RecordValidator:
    """Everything needed to judge records of one subject, prepared once."""

    def __init__(
        self,
        subject: Subject,
        accepted: AcceptedVersions = "latest",
        limits: Limits | None = None,
        expose_values: bool = False,
        wire: WireFormat | None = None,
    ) -> None:
        self.subject = subject
        self.wire = wire  # Schema Registry framing: the schema id names the version
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
        # Every candidate list validate() can meet, prepared once: the fallback, and each
        # version a header may name.
        self._checks = {self.fallback: _Check.each(subject, self.fallback)}
        for v in allowed_by_header:
            self._checks[(v,)] = _Check.each(subject, (v,))
        self._by_header: dict[bytes, int] = {}
        for v in subject.versions:
            for spelling in (str(v), f"v{v}", f"V{v}"):
                self._by_header[spelling.encode()] = v

    def validate(self, value: bytes | None, version_header: bytes | None = None) -> Verdict:
        if self.wire is not None:
            return self._validate_framed(value, self.wire)
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
                    _not_accepted(self.subject, version, self._accepted),
                    version,
                )
                return Verdict(False, name, None, (version,), (err,))
            candidates: tuple[int, ...] = (version,)
        else:
            candidates = self.fallback
        obj, decode_error = decode(value, self.limits)
        if obj is None:
            assert decode_error is not None
            hint = framing_hint(value) if decode_error.code in _UNREADABLE else None
            if hint is not None:
                decode_error = replace(decode_error, message=f"{decode_error.message}; {hint}")
            return Verdict(False, name, None, candidates, (decode_error,))
        return self._check(candidates, obj, value)

    def _validate_framed(self, value: bytes | None, wire: WireFormat) -> Verdict:
        """The frame's schema id names the version (a version header is not consulted)."""
        name = self.subject.name
        if value is None or not value or len(value) > self.limits.max_bytes:
            _, error = decode(value, self.limits)  # the same null/empty/size verdicts
            assert error is not None
            return Verdict(False, name, None, (), (error,))
        read = wire.read(value)
        if isinstance(read, FieldError):
            tried = (read.version,) if read.version is not None else ()
            return Verdict(False, name, None, tried, (read,))
        if read.version not in self._allowed_by_header:
            err = FieldError(
                "",
                Reason.RETIRED_VERSION,
                f"version {read.version} (from the schema id) is retired or not accepted",
                read.version,
            )
            return Verdict(False, name, None, (read.version,), (err,))
        obj = read.obj
        if obj is None:  # a JSON payload: decoded like a plain record
            obj, error = decode(read.payload, self.limits)
            if obj is None:
                assert error is not None
                return Verdict(False, name, None, (read.version,), (error,))
        verdict = self._check((read.version,), obj, value)
        if verdict.ok and verdict.value is not value:
            # `strip` re-encoded the record: a JSON payload keeps its frame; an Avro payload is
            # passed as written (its writer schema, named by the id, defines those bytes).
            framed = (
                value[:FRAME_BYTES] + verdict.value if not wire.avro and verdict.value else value
            )
            verdict = replace(verdict, value=framed)
        return verdict

    def _check(
        self, candidates: tuple[int, ...], obj: dict[str, Any], value: bytes | None
    ) -> Verdict:
        """The first candidate version whose contract accepts `obj`, else the newest's errors."""
        name = self.subject.name
        first_errors: tuple[FieldError, ...] = ()
        for check in self._checks[candidates]:
            try:
                check.validate(obj)
            except ValidationError as exc:
                if not first_errors:
                    first_errors = map_errors(
                        exc.errors(include_url=False, include_context=False),
                        check.version,
                        self.expose_values,
                    )
                continue
            warnings: tuple[FieldError, ...] = ()
            if check.rules is not None:  # business rules run only on records whose fields pass
                rule_errors, warnings = judge(check.rules, obj, check.version)
                if rule_errors:
                    if not first_errors:
                        first_errors = rule_errors
                    continue
            unknown: tuple[str, ...] = ()
            out = value
            if check.tolerant:
                unknown = tuple(check.shape.unknown_paths(obj))
                if unknown and check.strips:
                    obj = check.shape.strip(obj)
                    out = _encode(obj)
            return Verdict(True, name, check.version, check.tried, (), out, unknown, obj, warnings)
        return Verdict(False, name, None, candidates, first_errors, record=obj)


@dataclass(frozen=True, slots=True)
class _Check:
    """One contract to try for a given candidate list, with what its outcome needs."""

    version: int
    validate: Callable[[Any], Any]  # the contract's compiled check (no Python wrapper)
    shape: Shape
    tolerant: bool  # unknown fields may pass, so they are reported
    strips: bool
    tried: tuple[int, ...]  # the versions tried up to and including this one
    rules: RuleSet | None  # the version's business rules (None: it has none)

    @classmethod
    def each(cls, subject: Subject, candidates: tuple[int, ...]) -> tuple[_Check, ...]:
        out = []
        for i, version in enumerate(candidates):
            contract: Contract = subject.versions[version]
            shape = contract.shape
            out.append(
                cls(
                    version,
                    contract.check,
                    shape,
                    shape.tolerates_unknown,
                    shape.strips,
                    candidates[: i + 1],
                    contract.rules or None,
                )
            )
        return tuple(out)


def _not_accepted(subject: Subject, version: int, accepted: object) -> str:
    if subject.versions[version].candidate:
        return f"version {version} is a candidate (shadow rollout), not enforced yet"
    if version not in subject.active:
        return f"version {version} is retired"
    return f"version {version} is not accepted here (accepted: {accepted})"


def _encode(obj: dict[str, Any]) -> bytes:
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        # A lone surrogate escape (valid JSON, not encodable as UTF-8) in data the contract
        # does not check: keep it as an escape rather than fail the record.
        return json.dumps(obj, separators=(",", ":")).encode()
