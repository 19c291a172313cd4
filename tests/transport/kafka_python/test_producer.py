"""The kafka-python transactional producer after a failed abort, without a broker: the client
calls are replaced, the producer's own bookkeeping is what runs."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from guard.config import KafkaSettings
from guard.errors import TransientTransportError
from guard.transport.kafka_python import producer as producer_module
from guard.transport.kafka_python.producer import TxProducer


class _BrokerDown:
    """`TxProducer._create` while the broker is down (fails) or back (makes a producer)."""

    def __init__(self) -> None:
        self.down = False
        self.calls = 0

    def __call__(self, tx: TxProducer) -> None:
        self.calls += 1
        if self.down:
            raise TransientTransportError("create producer: broker down")
        tx._producer = SimpleNamespace(_transaction_manager=None)
        tx._abandoned = False


def test_a_producer_not_made_again_during_an_outage_is_made_by_the_next_abort(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    create = _BrokerDown()
    monkeypatch.setattr(TxProducer, "_create", lambda self: create(self))
    monkeypatch.setattr(producer_module, "_force_close", lambda _p: None)
    tx = TxProducer(KafkaSettings(bootstrap_servers="127.0.0.1:1"), "tx-1")

    def failing_abort(*_: Any) -> None:
        raise TransientTransportError("abort: broker down")

    # The first abort fails, and so does the new producer: the broker is still down.
    create.down = True
    monkeypatch.setattr(producer_module, "abort_or_recreate", _first_abort_fails(failing_abort))
    tx.abort()
    assert tx._producer is None
    # The broker is back: the next abort (before the pipe rewinds) makes the producer, whose
    # init_transactions would abort the old transaction the rewind waits on.
    create.down = False
    tx.abort()
    assert tx._producer is not None and create.calls == 3


def _first_abort_fails(abort: Any) -> Any:
    real = producer_module.abort_or_recreate

    def call(_abort: Any, close: Any, create: Any) -> None:
        real(abort, close, create)

    return call
