"""Translate kafka-python errors into the guard's hierarchy, at the boundary."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import kafka.errors as kerr

from guard.errors import FatalTransportError, RecordTooLargeError, TransientTransportError
from guard.transport import hints

T = TypeVar("T")

FATAL = (
    kerr.ProducerFencedError,
    kerr.InvalidProducerEpochError,
    kerr.TransactionalIdAuthorizationFailedError,
    kerr.TopicAuthorizationFailedError,
    kerr.GroupAuthorizationFailedError,
    kerr.ClusterAuthorizationFailedError,
    kerr.UnsupportedVersionError,
    kerr.UnsupportedForMessageFormatError,
    kerr.SaslAuthenticationFailedError,
)


# Retrying cannot make a record fit: the topic or producer limit has to be raised.
TOO_LARGE = (kerr.MessageSizeTooLargeError, kerr.RecordListTooLargeError)


def classify(action: str, exc: BaseException) -> FatalTransportError | TransientTransportError:
    message = f"{action}: {type(exc).__name__}: {exc}"
    if isinstance(exc, TOO_LARGE):
        return RecordTooLargeError(f"{message} -- {hints.TOO_LARGE}")
    if isinstance(exc, FATAL):
        return FatalTransportError(message)
    return TransientTransportError(message)


def translate(action: str, fn: Callable[[], T]) -> T:
    """Run one kafka-python call, mapping its errors onto the guard's hierarchy."""
    try:
        return fn()
    except (kerr.KafkaError, OSError, AssertionError) as exc:
        # kafka-python raises OSError/AssertionError on broken connections.
        raise classify(action, exc) from exc
