"""A TLS handshake refused for a certificate is a rejected login on both transports (fatal,
named, with the keys to check); any other TLS failure, such as a broker going away
mid-handshake, stays transient. Error texts as the clients reported them against the local
broker (tests/cli/test_tls_rejected.py)."""

from __future__ import annotations

import logging
import ssl

import kafka.errors as kerr
import pytest
from confluent_kafka import KafkaError

from guard.errors import FatalTransportError, TransientTransportError
from guard.transport import hints
from guard.transport.confluent.errors import ErrorWatch, classify_error
from guard.transport.kafka_python.errors import connecting
from guard.transport.tls import tls_rejection

UNTRUSTED_BROKER = (
    "ssl://127.0.0.1:35825/bootstrap: SSL handshake failed: error:0A000086:SSL routines::"
    "certificate verify failed: broker certificate could not be verified, verify that "
    "ssl.ca.location is correctly configured (after 104ms in state SSL_HANDSHAKE)"
)
REJECTED_CLIENT = (
    "ssl://127.0.0.1:51675/bootstrap: Receive failed: error:0A000412:SSL routines::sslv3 "
    "alert bad certificate: SSL alert number 42 (after 1ms in state APIVERSION_QUERY)"
)
TRANSIENT = [
    "TxnCoordinator: 127.0.0.1:51675: Disconnected: SSL connection closed by peer",
    "ssl://127.0.0.1:1/bootstrap: SSL handshake failed: Disconnected: connection reset by peer",
    "ssl://127.0.0.1:1/bootstrap: SSL transport error: unexpected eof while reading",
]


def test_an_untrusted_broker_certificate_names_the_ca_file_to_check() -> None:
    message = tls_rejection(UNTRUSTED_BROKER)
    assert message is not None and message.startswith("TLS handshake failed")
    assert hints.CHECK_TLS_CA in message


@pytest.mark.parametrize(
    "text",
    [REJECTED_CLIENT, "[SSL: SSLV3_ALERT_CERTIFICATE_UNKNOWN] sslv3 alert certificate unknown"],
)
def test_a_client_certificate_the_broker_refused_names_the_certificate_files(text: str) -> None:
    message = tls_rejection(text)
    assert message is not None and message.startswith("TLS handshake failed")
    assert hints.CHECK_TLS_CERT in message


@pytest.mark.parametrize("text", TRANSIENT)
def test_a_tls_failure_without_a_certificate_verdict_is_not_a_rejection(text: str) -> None:
    assert tls_rejection(text) is None


@pytest.mark.parametrize(
    ("code", "text"),
    [(KafkaError._SSL, UNTRUSTED_BROKER), (KafkaError._TRANSPORT, REJECTED_CLIENT)],
)
def test_confluent_fails_at_once_on_a_refused_certificate(code: int, text: str) -> None:
    watch = ErrorWatch()
    watch(KafkaError(code, text))
    with pytest.raises(FatalTransportError, match="authentication failed: TLS handshake failed"):
        watch.raise_if_rejected("init transactions")


@pytest.mark.parametrize("text", TRANSIENT)
def test_confluent_retries_a_tls_failure_during_an_outage(text: str) -> None:
    watch = ErrorWatch()
    watch(KafkaError(KafkaError._SSL, text))
    watch.raise_if_rejected("poll")  # nothing kept
    assert isinstance(
        classify_error("poll", KafkaError(KafkaError._SSL, text)), TransientTransportError
    )


def _bootstrap_failing_after(error: BaseException) -> None:
    """What kafka-python does: log each failed connection, raise a timeout at the deadline."""
    logging.getLogger("kafka.net.manager").error("Connection failed: %s", error)
    raise kerr.KafkaTimeoutError("Unable to bootstrap from 127.0.0.1:1")


def _handshake_error(cause: BaseException) -> kerr.KafkaConnectionError:
    """kafka-python re-raises a failed handshake inside its `except`: the ssl error is the
    context of the connection error it logs."""
    wrapped = kerr.KafkaConnectionError(f"Handshake failed: {cause}")
    wrapped.__context__ = cause
    return wrapped


def test_kafka_python_names_an_untrusted_broker_certificate_instead_of_a_timeout() -> None:
    refused = _handshake_error(ssl.SSLCertVerificationError(1, "certificate verify failed"))
    with pytest.raises(FatalTransportError) as info:
        connecting("create consumer", lambda: _bootstrap_failing_after(refused))
    assert "authentication failed: TLS handshake failed" in str(info.value)
    assert hints.CHECK_TLS_CA in str(info.value)


def test_kafka_python_retries_a_handshake_cut_by_a_broker_going_away() -> None:
    cut = _handshake_error(ssl.SSLEOFError(8, "EOF occurred in violation of protocol"))
    with pytest.raises(TransientTransportError):
        connecting("create consumer", lambda: _bootstrap_failing_after(cut))
