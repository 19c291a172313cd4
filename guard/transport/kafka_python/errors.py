"""Translate kafka-python errors into the guard's hierarchy, at the boundary."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import kafka.errors as kerr

from guard.errors import (
    FatalTransportError,
    RecordTooLargeError,
    RejoinRequiredError,
    TransientTransportError,
)
from guard.transport import hints
from guard.transport.tls import tls_rejection

if TYPE_CHECKING:
    from guard.config.settings import KafkaSettings

T = TypeVar("T")

# Fenced: these clients are done for good, new ones may go on (the service rejoins).
REJOIN = (
    kerr.ProducerFencedError,
    kerr.InvalidProducerEpochError,
    kerr.FencedInstanceIdError,
)

FATAL = (
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


def classify(
    action: str, exc: BaseException, topic: str | None = None
) -> FatalTransportError | TransientTransportError:
    """The guard's error for `exc`; `topic`: the target of the record the call was about."""
    message = f"{action}: {type(exc).__name__}: {exc}"
    if isinstance(exc, TOO_LARGE):
        return RecordTooLargeError(f"{message} -- {hints.TOO_LARGE}", topic)
    if isinstance(exc, REJOIN) or _stale_membership(exc):
        return RejoinRequiredError(message)
    if isinstance(exc, FATAL):
        return FatalTransportError(message)
    return TransientTransportError(message)


def _stale_membership(exc: BaseException) -> bool:
    """A transactional offset commit refused because the group no longer knows this member
    (UnknownMemberId, IllegalGeneration: kafka-python wraps both in CommitFailedError). The
    consumer may not notice before its next heartbeat fails, so retrying the batch with the
    same membership failed 20 times in 16 s on a busy machine (exit 3); new clients rejoin at
    once."""
    return isinstance(exc, kerr.CommitFailedError) and "metadata mismatch" in str(exc)


def translate(action: str, fn: Callable[[], T], topic: str | None = None) -> T:
    """Run one kafka-python call, mapping its errors onto the guard's hierarchy."""
    try:
        return fn()
    except (kerr.KafkaError, OSError, AssertionError) as exc:
        # kafka-python raises OSError/AssertionError on broken connections.
        raise classify(action, exc, topic) from exc


class _AuthFailureWatch(logging.Handler):
    """Keeps the login failure kafka-python logs while it retries a bootstrap (the client
    itself only reports "Unable to bootstrap" when its deadline passes): the broker's SASL
    error, or a TLS handshake refused for a certificate (by either side; other TLS errors,
    such as a broker closing the socket mid-handshake, are left to the retries)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.failure: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.failure is not None:
            return
        args = record.args if isinstance(record.args, tuple) else ()
        errors = [a for a in args if isinstance(a, BaseException)]
        if record.exc_info and record.exc_info[1] is not None:
            errors.append(record.exc_info[1])  # an alert read after the handshake
        for error in errors:
            if isinstance(error, kerr.SaslAuthenticationFailedError):
                self.failure = f"{error} -- {_CHECK_SASL}"
                return
            # A handshake error is re-raised as a KafkaConnectionError, the ssl one its context.
            for text in (str(error), str(error.__context__ or "")):
                if (tls := tls_rejection(text)) is not None:
                    self.failure = tls
                    return


def connecting(action: str, fn: Callable[[], T], settings: KafkaSettings | None = None) -> T:
    """`translate` for calls that open connections (creating a client, initialising
    transactions). A rejected login is a fatal error that says so, not a timeout: either
    the client logged the broker's SASL error, or (brokers often just close the socket on a
    failed SASL exchange) the bootstrap timed out although a broker accepts TCP connections.
    Messages name the keys to check, never a secret."""
    watch = _AuthFailureWatch()
    client_log = logging.getLogger("kafka")
    client_log.addHandler(watch)
    try:
        return fn()
    except (kerr.KafkaError, OSError, AssertionError) as exc:
        if watch.failure is not None:
            raise FatalTransportError(f"{action}: authentication failed: {watch.failure}") from exc
        unanswered = isinstance(exc, _NO_SESSION)
        if (
            unanswered
            and settings is not None
            and settings.sasl_mechanism
            and _tcp_reachable(settings)
        ):
            tls = " or TLS set-up" if settings.security_protocol == "SASL_SSL" else ""
            raise FatalTransportError(
                f"{action}: authentication failed: the broker accepted the connection but "
                f"closed it during the {settings.sasl_mechanism} login{tls} -- {_CHECK_SASL}"
            ) from exc
        raise classify(action, exc) from exc
    finally:
        client_log.removeHandler(watch)


# What a client reports when it never got a working session (as opposed to a broker's answer,
# such as an authorization error, which is classified as it is).
_NO_SESSION = (kerr.KafkaTimeoutError, kerr.KafkaConnectionError)

_CHECK_SASL = (
    "check kafka.sasl_mechanism (enabled on this listener?), kafka.sasl_plain_username and "
    "kafka.sasl_plain_password"
)


def _tcp_reachable(settings: KafkaSettings) -> bool:
    for server in settings.bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=2).close()
        except (OSError, ValueError):
            continue
        return True
    return False
