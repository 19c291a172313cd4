"""Stable reason codes and the machine-readable error records that carry them.

The codes are part of the quarantine envelope: other tools filter and replay by them, so
values are never renamed or reused — add new ones instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    # The bytes are not a record at all.
    EMPTY_VALUE = "empty_value"
    NULL_VALUE = "null_value"  # a tombstone (value is null)
    TOO_LARGE = "too_large"
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    TOO_DEEP = "too_deep"
    NOT_FINITE = "not_finite"  # NaN / Infinity are not JSON
    DUPLICATE_KEY = "duplicate_key"
    NOT_OBJECT = "not_object"  # valid JSON, but the top level is not an object
    # A \ud800-style escape with no pair: valid JSON text and valid UTF-8 bytes, but it names
    # no Unicode character, so no consumer can re-encode it.
    LONE_SURROGATE = "lone_surrogate"
    # The record's headers: a header key that is not UTF-8 (Kafka allows any bytes, but no
    # consumer can read it as the string the protocol says it is).
    MALFORMED_HEADER = "malformed_header"
    # Schema Registry wire format (routes with payload_format confluent-json / confluent-avro).
    BAD_FRAME = "bad_frame"  # the first byte is not the magic byte 0x00
    TRUNCATED_FRAME = "truncated_frame"  # shorter than magic byte + 4-byte schema id
    UNKNOWN_SCHEMA_ID = "unknown_schema_id"  # no contract version is pinned to (or has) the id
    NOT_AVRO = "not_avro"  # the payload does not decode with the writer schema of its id
    # Version resolution.
    UNKNOWN_VERSION = "unknown_version"
    RETIRED_VERSION = "retired_version"
    # Two or more version headers on one record: readers that take the first and readers that
    # take the last would judge it by different contracts.
    AMBIGUOUS_VERSION = "ambiguous_version"
    # The record does not satisfy the contract.
    MISSING_FIELD = "missing_field"
    NULL_NOT_ALLOWED = "null_not_allowed"
    WRONG_TYPE = "wrong_type"
    OUT_OF_RANGE = "out_of_range"
    NOT_IN_ENUM = "not_in_enum"
    PATTERN_MISMATCH = "pattern_mismatch"
    BAD_LENGTH = "bad_length"
    BAD_FORMAT = "bad_format"
    UNKNOWN_FIELD = "unknown_field"
    # A business rule of the contract (`rules:`, CEL): false, or it could not be evaluated
    # (a missing key, division by zero, overflow). The error names the rule.
    RULE_FAILED = "rule_failed"
    RULE_ERROR = "rule_error"
    # The record is fine but larger than its target topic or the producer accepts.
    TOO_LARGE_FOR_TARGET = "too_large_for_target"
    # The record is fine but its timestamp is outside what its target topic accepts
    # (message.timestamp.before.max.ms / after.max.ms).
    TIMESTAMP_OUTSIDE_TARGET = "timestamp_outside_target"
    # Catch-all for a validator error type this version does not map yet.
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One failed check: where (dotted path), which stable code, a value-free message."""

    path: str
    code: Reason
    message: str
    version: int | None = None
    value: str | None = None  # only filled when the user opts in to value exposure
    rule: str | None = None  # the contract rule's name, for rule_failed / rule_error

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.path, "code": self.code.value, "message": self.message}
        if self.version is not None:
            out["version"] = self.version
        if self.value is not None:
            out["value"] = self.value
        if self.rule is not None:
            out["rule"] = self.rule
        return out
