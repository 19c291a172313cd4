"""Schema Registry wire format: magic byte 0x00, a big-endian 4-byte schema id, the payload.

A route declares its payload format. For framed formats the schema id names the contract
version (ids are pinned per version in `subject.yaml`, or looked up in a Schema Registry and
cached), the frame is stripped, and the payload is decoded: JSON as for plain routes, Avro
with fastavro using the writer schema of the id. The decoded object is then checked against
that version's contract like any JSON record. A record that cannot be read this way is
quarantined with a reason of its own, its bytes untouched.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from guard.contracts.avro import to_json_shape
from guard.contracts.registry import Subject
from guard.validation.reasons import FieldError, Reason
from guard.validation.schema_ids import SchemaIds

PayloadFormat = Literal["json", "confluent-json", "confluent-avro"]
MAGIC = 0
FRAME_BYTES = 5


@dataclass(frozen=True, slots=True)
class Frame:
    schema_id: int
    payload: bytes


def unframe(value: bytes) -> Frame | FieldError:
    if len(value) < FRAME_BYTES:
        return FieldError(
            "",
            Reason.TRUNCATED_FRAME,
            f"{len(value)} bytes; a Schema Registry frame needs at least {FRAME_BYTES}",
        )
    if value[0] != MAGIC:
        return FieldError(
            "",
            Reason.BAD_FRAME,
            f"first byte is 0x{value[0]:02x}, not the Schema Registry magic byte 0x00",
        )
    return Frame(int.from_bytes(value[1:FRAME_BYTES], "big"), value[FRAME_BYTES:])


def framing_hint(value: bytes | None) -> str | None:
    """For a plain-JSON route: say so when the bytes look like a Schema Registry frame."""
    if value is not None and len(value) >= FRAME_BYTES and value[0] == MAGIC:
        return f"looks like Schema Registry framing, schema id {int.from_bytes(value[1:5], 'big')}"
    return None


@dataclass(frozen=True, slots=True)
class Unframed:
    """What a framed value resolved to: the version its id names, and the decoded object
    (for JSON payloads, the raw payload bytes to decode like a plain record)."""

    version: int
    payload: bytes
    obj: dict[str, Any] | None = None


class WireFormat:
    """Reads framed values of one subject: resolves the id, decodes Avro payloads."""

    def __init__(self, subject: Subject, payload_format: PayloadFormat, ids: SchemaIds) -> None:
        if payload_format == "json":
            raise ValueError("plain JSON routes have no wire format")
        self.subject = subject
        self.avro = payload_format == "confluent-avro"
        self.ids = ids

    def read(self, value: bytes) -> Unframed | FieldError:
        frame = unframe(value)
        if isinstance(frame, FieldError):
            return frame
        resolved = self.ids.resolve(frame.schema_id, avro=self.avro)
        if resolved is None:
            return FieldError(
                "",
                Reason.UNKNOWN_SCHEMA_ID,
                f"schema id {frame.schema_id} maps to no version of {self.subject.name!r}",
            )
        if not self.avro:
            return Unframed(resolved.version, frame.payload)
        contract = self.subject.versions[resolved.version]
        decoded = _decode_avro(frame.payload, resolved.writer)
        if isinstance(decoded, FieldError):
            return FieldError(decoded.path, decoded.code, decoded.message, resolved.version)
        return Unframed(
            resolved.version, frame.payload, to_json_shape(decoded, contract.spec.fields)
        )


def _decode_avro(payload: bytes, writer: Any) -> dict[str, Any] | FieldError:
    import fastavro

    stream = io.BytesIO(payload)
    try:
        data = fastavro.schemaless_reader(stream, writer, None)
    except Exception as exc:  # fastavro raises many kinds on hostile bytes; all mean "not Avro"
        return FieldError("", Reason.NOT_AVRO, f"{type(exc).__name__} decoding the Avro payload")
    left = len(payload) - stream.tell()
    if left:
        return FieldError("", Reason.NOT_AVRO, f"{left} bytes left after the Avro record")
    if not isinstance(data, dict):
        return FieldError("", Reason.NOT_OBJECT, "the writer schema is not an Avro record")
    bad = _non_finite(data, "")
    if bad is not None:
        if isinstance(bad, tuple):  # a decimal whose value no JSON number (double) holds
            return FieldError(bad[0], Reason.OUT_OF_RANGE, _DECIMAL_OVERFLOW)
        return FieldError(bad, Reason.NOT_FINITE, "NaN or Infinity has no JSON form")
    return data


_DECIMAL_OVERFLOW = "decimal is too large: it overflows to infinity as a number"


def _non_finite(data: Any, path: str) -> str | tuple[str] | None:
    """The path of the first NaN/Infinity (Avro doubles allow them; JSON and the guard don't),
    or (path,) for a decimal too large to check as a number."""
    if isinstance(data, float):
        return None if math.isfinite(data) else path
    if isinstance(data, Decimal):
        return None if math.isfinite(float(data)) else (path,)
    if isinstance(data, dict):
        for k, v in data.items():
            found = _non_finite(v, f"{path}.{k}" if path else str(k))
            if found is not None:
                return found
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found = _non_finite(v, f"{path}[{i}]")
            if found is not None:
                return found
    return None
