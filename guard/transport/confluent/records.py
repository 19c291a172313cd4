"""confluent-kafka messages as the guard's InRecords, without letting a bad header raise."""

from __future__ import annotations

import operator

from confluent_kafka import Message

from guard.transport.base import InHeaders, InRecord


def in_record(msg: Message) -> InRecord:
    """The record with its key and value bytes intact; `header_error` set when the client
    cannot read its headers (e.g. a header key that is not UTF-8)."""
    headers, error = read_headers(msg)
    topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
    assert topic is not None and partition is not None and offset is not None  # a real record
    return InRecord(
        topic, partition, offset, msg.timestamp()[1], msg.key(), msg.value(), headers, error
    )


# confluent-kafka decodes header keys as UTF-8; for one that is not, `headers()` returns a
# list holding a NULL key *with an exception set*. Called through the C API (as here), the
# interpreter turns that into SystemError; a plain `msg.headers()` call site, once CPython
# has specialised it, skips that check, returns the broken list and the process crashes on
# it. So headers are read only through this caller, exactly once per message (a second call
# returns the cached broken list without raising), and nothing of a failed call is kept.
_HEADERS = operator.methodcaller("headers")


def read_headers(msg: Message) -> tuple[InHeaders, str | None]:
    try:
        raw = _HEADERS(msg)
    except (SystemError, UnicodeDecodeError, ValueError) as exc:
        cause = exc.__cause__ or exc.__context__ or exc
        if isinstance(cause, UnicodeDecodeError):
            return [], "a header key is not valid UTF-8"
        return [], f"headers unreadable by confluent-kafka: {type(cause).__name__}"
    if raw is None:
        return [], None
    if type(raw) is list:  # (str, bytes | None) pairs, fresh per message: kept as they are
        return raw, None
    pairs = raw.items() if isinstance(raw, dict) else raw
    return [(k, v.encode() if isinstance(v, str) else v) for k, v in pairs], None
