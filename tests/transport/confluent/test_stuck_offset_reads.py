"""A consumer whose reads of the committed offsets keep timing out while the brokers answer a
new client (seen after a broker restarted in place) is replaced: the rewind asks for new
clients, from a poll at once, from an abort at the next poll. While no new client is answered
either, it is an outage and stays a transient failure. Without a broker: stand-in clients."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import TopicPartition as CTopicPartition

from guard.errors import RejoinRequiredError, TransientTransportError
from guard.transport.confluent import admin
from guard.transport.confluent import pipe as pipe_module
from guard.transport.confluent.pipe import ConfluentPipe


class _Producer:
    def ready(self) -> None:
        pass

    def abort(self) -> None:
        pass


class _TimedOutConsumer:
    def assignment(self) -> list[Any]:
        return [CTopicPartition("in", 0)]

    def committed(self, _partitions: list[Any], _timeout: float) -> list[Any]:
        raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "Failed to get committed offsets"))


def _pipe(monkeypatch: pytest.MonkeyPatch, brokers_answer: bool) -> ConfluentPipe:
    pipe = ConfluentPipe.__new__(ConfluentPipe)
    pipe._consumer = _TimedOutConsumer()  # type: ignore[assignment]
    pipe._producer = _Producer()  # type: ignore[assignment]
    pipe.settings = None  # type: ignore[assignment]
    pipe._timeout_s = 1.0
    pipe._uncommitted = True
    pipe._first = {}
    pipe._rejoin_due = None
    monkeypatch.setattr(pipe_module, "abort_lost_transaction", lambda _side: False)
    monkeypatch.setattr(admin, "brokers_answer", lambda _settings, _timeout: brokers_answer)
    return pipe


def test_a_poll_whose_rewind_cannot_read_offsets_the_brokers_serve_asks_for_new_clients(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(RejoinRequiredError, match="replacing this consumer"):
        _pipe(monkeypatch, brokers_answer=True).poll(10, 100)


def test_an_abort_that_meets_it_fails_transiently_and_the_next_poll_asks_for_new_clients(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipe = _pipe(monkeypatch, brokers_answer=True)
    with pytest.raises(TransientTransportError):
        pipe.abort()
    with pytest.raises(RejoinRequiredError):
        pipe.poll(10, 100)


def test_while_the_brokers_answer_no_new_client_either_it_stays_an_outage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(TransientTransportError) as raised:
        _pipe(monkeypatch, brokers_answer=False).poll(10, 100)
    assert not isinstance(raised.value, RejoinRequiredError)
