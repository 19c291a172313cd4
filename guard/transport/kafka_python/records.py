"""Two adaptations of kafka-python's record format code, so headers travel byte for byte.

1. Reading: kafka-python decodes every header key with `bytes.decode("utf-8")` inside
   `DefaultRecordBatch._read_msg`. A key that is not UTF-8 (Kafka's wire format allows any
   bytes; some non-Java clients write them) raises there, the fetcher re-raises the same error
   on every poll, and the consumer spins on that record forever. We retry such a record with
   a tolerant parser that decodes keys with `surrogateescape`, so the raw bytes survive inside
   a `RawHeaderKey` (a str); `in_record` then marks the record with `header_error` and the
   router quarantines it. Records with valid keys never leave kafka-python's own parser.
2. Writing: `KafkaProducer.send` accepts only `bytes` header values, although its record
   builder writes `None` as Kafka's null. `NULL_HEADER` is an empty `bytes` that passes the
   check; the patched builder writes it as null.

Both patches target the exact code of the versions in `_KNOWN`: on any other version they
are not installed (a warning says so) and behaviour falls back to kafka-python's own. They are
installed when the transport makes its first client (`install`), not when this module is
imported.
"""

from __future__ import annotations

from typing import Any

import kafka
import structlog
from kafka.errors import CorruptRecordError
from kafka.record.default_records import (
    ControlRecord,
    DefaultRecord,
    DefaultRecordBatch,
    DefaultRecordBatchBuilder,
)
from kafka.record.util import decode_varint

from guard.transport.base import InRecord
from guard.transport.kafka_python.versions import KNOWN

log = structlog.get_logger(__name__)

# Versions whose `_read_msg` and `DefaultRecordBatchBuilder.append` were read line by line.
_KNOWN = KNOWN
_WARNED: set[str] = set()  # versions already reported as not adapted (once per process)


class RawHeaderKey(str):
    """A header key that was not valid UTF-8: its bytes live on as surrogate escapes.

    `encode("utf-8")` (what kafka-python's fetcher calls to size headers) gives the original
    bytes back instead of raising."""

    __slots__ = ()

    def encode(self, encoding: str = "utf-8", errors: str = "surrogateescape") -> bytes:
        return str.encode(self, encoding, "surrogateescape")

    @property
    def raw(self) -> bytes:
        return str.encode(self, "utf-8", "surrogateescape")


class _NullHeaderValue(bytes):
    """An empty bytes that the patched record builder writes as a null header value."""

    __slots__ = ()


NULL_HEADER: bytes = _NullHeaderValue()
# Marks a record sent with an empty value because kafka-python cannot send null key and null
# value together; the name is guard.quarantine.envelope.H_NULL_VALUE (a test checks).
NULL_VALUE_MARKER = "guard.null.value"


def in_record(r: Any) -> InRecord:
    """A kafka-python ConsumerRecord as the guard's InRecord; a record with a header key that
    is not UTF-8 (read by the tolerant parser below) is marked with `header_error`."""
    headers = list(r.headers)
    error = None
    if headers:
        bad = [i for i, (k, _) in enumerate(headers) if type(k) is RawHeaderKey]
        if bad:
            error = f"header key is not valid UTF-8 (header {', '.join(map(str, bad))})"
    return InRecord(r.topic, r.partition, r.offset, r.timestamp, r.key, r.value, headers, error)


def header_key_bytes(key: str) -> bytes:
    """The wire bytes of a header key as read by this module."""
    return key.raw if isinstance(key, RawHeaderKey) else key.encode("utf-8")


def _tolerant_read_msg(self: Any) -> Any:
    """kafka-python 3.0's `DefaultRecordBatch._read_msg`, but header keys that are not UTF-8
    become `RawHeaderKey`s instead of raising. Only called after the original raised."""
    buffer = self._buffer
    pos = self._pos
    length, pos = decode_varint(buffer, pos)
    start_pos = pos
    _, pos = decode_varint(buffer, pos)  # attributes: unused in format v2
    ts_delta, pos = decode_varint(buffer, pos)
    if self.timestamp_type == self.LOG_APPEND_TIME:
        timestamp = self.max_timestamp
    else:
        timestamp = self.first_timestamp + ts_delta
    offset_delta, pos = decode_varint(buffer, pos)
    offset = self.base_offset + offset_delta
    key_len, pos = decode_varint(buffer, pos)
    key = None
    if key_len >= 0:
        key = bytes(buffer[pos : pos + key_len])
        pos += key_len
    value_len, pos = decode_varint(buffer, pos)
    value = None
    if value_len >= 0:
        value = bytes(buffer[pos : pos + value_len])
        pos += value_len
    header_count, pos = decode_varint(buffer, pos)
    if header_count < 0:
        raise CorruptRecordError(f"Found invalid number of record headers {header_count}")
    headers: list[tuple[str, bytes | None]] = []
    for _ in range(header_count):
        h_key_len, pos = decode_varint(buffer, pos)
        if h_key_len < 0:
            raise CorruptRecordError(f"Invalid negative header key size {h_key_len}")
        raw_key = bytes(buffer[pos : pos + h_key_len])
        pos += h_key_len
        try:
            h_key: str = raw_key.decode("utf-8")
        except UnicodeDecodeError:
            h_key = RawHeaderKey(raw_key.decode("utf-8", "surrogateescape"))
        h_value_len, pos = decode_varint(buffer, pos)
        h_value = None
        if h_value_len >= 0:
            h_value = bytes(buffer[pos : pos + h_value_len])
            pos += h_value_len
        headers.append((h_key, h_value))
    if pos - start_pos != length:
        raise CorruptRecordError(
            f"Invalid record size: expected to read {length} bytes in record payload, "
            f"but instead read {pos - start_pos}"
        )
    self._pos = pos
    cls = ControlRecord if self.is_control_batch else DefaultRecord
    return cls(length, offset, timestamp, self.timestamp_type, key, value, headers)


def install() -> bool:
    """Install both adaptations once; False when this kafka-python version is not adapted."""
    if not kafka.__version__.startswith(_KNOWN):
        if kafka.__version__ in _WARNED:
            return False
        _WARNED.add(kafka.__version__)
        log.warning(
            "kafka-python version not adapted: a header key that is not UTF-8 will stall "
            "its partition, and null header values are refused",
            version=kafka.__version__,
        )
        return False
    if getattr(DefaultRecordBatch, "_guard_adapted", False):
        return True
    original_read = DefaultRecordBatch._read_msg
    original_append = DefaultRecordBatchBuilder.append

    def read_msg(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original_read(self, *args, **kwargs)
        except UnicodeDecodeError:
            # The original raised before moving `_pos`: parse the same record again.
            return _tolerant_read_msg(self)

    def append(
        self: Any, offset: int, timestamp: int | None, key: Any, value: Any, headers: Any
    ) -> Any:
        if headers and any(type(v) is _NullHeaderValue for _, v in headers):
            headers = [(k, None if type(v) is _NullHeaderValue else v) for k, v in headers]
        return original_append(self, offset, timestamp, key, value, headers)

    DefaultRecordBatch._read_msg = read_msg
    DefaultRecordBatchBuilder.append = append
    DefaultRecordBatch._guard_adapted = True
    return True
