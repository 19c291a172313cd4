"""confluent-kafka errors become the guard's: what retrying can fix is transient, the rest fatal."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from guard.errors import FatalTransportError, TransientTransportError
from guard.transport import hints
from guard.transport.confluent.errors import classify, translate


def _raise(err: KafkaError) -> None:
    raise KafkaException(err)


@pytest.mark.parametrize(
    "code",
    [
        KafkaError._FENCED,
        KafkaError.PRODUCER_FENCED,
        KafkaError.FENCED_INSTANCE_ID,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        KafkaError.SASL_AUTHENTICATION_FAILED,
    ],
)
def test_fencing_and_authorization_are_fatal(code: int) -> None:
    with pytest.raises(FatalTransportError):
        translate("commit", lambda: _raise(KafkaError(code)))


def test_an_error_librdkafka_marks_fatal_is_fatal() -> None:
    with pytest.raises(FatalTransportError):
        translate("send", lambda: _raise(KafkaError(KafkaError._STATE, "x", fatal=True)))


def test_a_record_too_large_is_fatal_with_the_fix_it_text_both_clients_share() -> None:
    with pytest.raises(FatalTransportError) as info:
        translate("send", lambda: _raise(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)))
    assert hints.TOO_LARGE in str(info.value)


@pytest.mark.parametrize(
    "err",
    [
        KafkaError(KafkaError._TIMED_OUT, "t", retriable=True),
        KafkaError(KafkaError.ILLEGAL_GENERATION, "rebalanced", txn_requires_abort=True),
        KafkaError(KafkaError.REBALANCE_IN_PROGRESS),
        KafkaError(KafkaError._TRANSPORT),
    ],
)
def test_timeouts_rebalances_and_lost_connections_are_transient(err: KafkaError) -> None:
    with pytest.raises(TransientTransportError):
        translate("send offsets", lambda: _raise(err))


def test_a_full_local_queue_is_transient() -> None:
    assert isinstance(classify("send", BufferError("queue full")), TransientTransportError)


def test_a_client_error_raised_inside_a_callback_keeps_its_classification() -> None:
    try:
        try:
            _raise(KafkaError(KafkaError._FENCED))
        except KafkaException as inner:
            raise SystemError("callback returned a result with an exception set") from inner
    except SystemError as exc:
        assert isinstance(classify("flush", exc), FatalTransportError)
