"""Translate confluent-kafka errors into the guard's hierarchy, at the boundary.

librdkafka classifies its own errors: `fatal()` (the client is unusable), `retriable()`, and
`txn_requires_abort()` (abort and retry the transaction). Fencing and authorization are
fatal whatever the flags say: retrying them cannot help. Fencing, and a consumer's fatal error
(`_FATAL` from poll, e.g. "Static consumer fenced by other consumer with same
group.instance.id", which librdkafka does not flag `fatal()`), leave the client dead for good:
`RejoinRequiredError`, so the service makes new clients instead of polling a dead one.
A rejected login (SASL, or a TLS certificate refused by either side) is fatal; any other TLS
error (`_SSL` is also what a broker going away mid-handshake gives) is retried.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import structlog
from confluent_kafka import KafkaError, KafkaException

from guard.errors import (
    FatalTransportError,
    RecordTooLargeError,
    RejoinRequiredError,
    TransientTransportError,
)
from guard.logs import RepeatFold, fold_key
from guard.transport import hints
from guard.transport.tls import tls_rejection

T = TypeVar("T")
log = structlog.get_logger("librdkafka")

# The client is dead for good, but new clients may go on (the service rejoins).
REJOIN_CODES = frozenset(
    {
        KafkaError._FENCED,
        KafkaError.PRODUCER_FENCED,
        KafkaError.INVALID_PRODUCER_EPOCH,
        KafkaError.FENCED_INSTANCE_ID,
        KafkaError._FATAL,
    }
)

# A rejected login: retrying with the same credentials cannot help.
AUTH_CODES = frozenset(
    {
        KafkaError.SASL_AUTHENTICATION_FAILED,
        KafkaError._AUTHENTICATION,
        KafkaError.UNSUPPORTED_SASL_MECHANISM,
    }
)

# A TLS failure: a rejected login only when its text names a certificate verdict
# (`tls_rejection`); a broker going away mid-handshake reports `_SSL` too, and is retried.
TLS_CODES = frozenset({KafkaError._SSL, KafkaError._TRANSPORT})

FATAL_CODES = frozenset(
    {
        KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.GROUP_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
        KafkaError.UNSUPPORTED_VERSION,
        KafkaError.UNSUPPORTED_FOR_MESSAGE_FORMAT,
        KafkaError._INVALID_ARG,
    }
)

TOO_LARGE_CODES = frozenset(
    {
        KafkaError.MSG_SIZE_TOO_LARGE,
        KafkaError.RECORD_LIST_TOO_LARGE,
    }
)


def classify_error(
    action: str, err: KafkaError, topic: str | None = None
) -> FatalTransportError | TransientTransportError:
    """The guard's error for `err`; `topic`: the target of the record the call was about."""
    message = f"{action}: {err.name()}: {err.str()}"
    if err.code() in TOO_LARGE_CODES:
        return RecordTooLargeError(f"{message} -- {hints.TOO_LARGE}", topic)
    if err.code() in AUTH_CODES:
        return FatalTransportError(
            f"{action}: authentication failed: {err.str()} -- {hints.CHECK_LOGIN}"
        )
    if err.code() in TLS_CODES and (tls := tls_rejection(err.str())) is not None:
        return FatalTransportError(f"{action}: authentication failed: {tls}")
    if err.code() in REJOIN_CODES or err.fatal():
        # librdkafka: a fatal error means "destroy the client and make a new one".
        return RejoinRequiredError(message)
    if err.code() in FATAL_CODES:
        return FatalTransportError(message)
    # retriable, txn_requires_abort, timeouts, a rebalance under a batch, broker gone: the
    # service aborts, rewinds to the committed offsets and tries again with backoff.
    return TransientTransportError(message)


def is_rejected_login(err: KafkaError) -> bool:
    """A login the broker refused (SASL), or a TLS handshake refused for a certificate."""
    if err.code() in AUTH_CODES:
        return True
    return err.code() in TLS_CODES and tls_rejection(err.str()) is not None


def classify(
    action: str, exc: BaseException, topic: str | None = None
) -> FatalTransportError | TransientTransportError:
    if isinstance(exc, SystemError) and isinstance(exc.__cause__, KafkaException):
        # A client error raised while a callback ran surfaces as SystemError from it.
        exc = exc.__cause__
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return classify_error(action, exc.args[0], topic)
    # BufferError: the local queue is full; RuntimeError: a call in the wrong state.
    return TransientTransportError(f"{action}: {type(exc).__name__}: {exc}")


def translate(action: str, fn: Callable[[], T], topic: str | None = None) -> T:
    """Run one confluent-kafka call, mapping its errors onto the guard's hierarchy."""
    try:
        return fn()
    except (KafkaException, BufferError, RuntimeError, SystemError) as exc:
        raise classify(action, exc, topic) from exc


class ErrorWatch:
    """A client's `error_cb`: librdkafka's client-wide errors (a broker it cannot reach, a
    rejected login) arrive here, not from the call that waits on them. Each is logged with
    repeats folded (a broker that is down makes librdkafka report ~14 a second), counted, and
    a rejected login is kept so the waiting call fails at once naming authentication instead
    of timing out (`raise_if_rejected`)."""

    def __init__(self) -> None:
        self.rejected: KafkaError | None = None
        self.errors = 0  # every client error reported, folded or not

    def __call__(self, err: KafkaError) -> None:
        self.errors += 1
        if self.rejected is None and is_rejected_login(err):
            self.rejected = err
        dropped = CLIENT_LOG_FOLD.admit(fold_key("error_cb", err.name(), err.str()))
        if dropped is not None:
            # librdkafka retries these itself; a call that needs the broker times out if not.
            log.warning(
                "librdkafka client error",
                code=err.name(),
                error=err.str(),
                **({"repeated": dropped} if dropped else {}),
            )

    def raise_if_rejected(self, action: str) -> None:
        if self.rejected is not None:
            raise classify_error(action, self.rejected)


# One fold for every librdkafka client in the process: the producer and consumer report the
# same broker failures.
CLIENT_LOG_FOLD = RepeatFold()
