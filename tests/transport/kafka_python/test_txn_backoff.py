"""kafka-python's sender, once txn_backoff is installed, waits a retried transactional
request's own backoff: 20 ms after CONCURRENT_TRANSACTIONS, not its configured 100 ms. A
real TransactionManager and Sender, a stand-in network client, no broker."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest
from kafka.future import Future
from kafka.producer.sender import Sender
from kafka.producer.transaction_manager import (
    ProducerIdAndEpoch,
    TransactionManager,
    TransactionState,
)
from kafka.structs import TopicPartition

from guard.transport.kafka_python import txn_backoff

_CONCURRENT_TRANSACTIONS = 51


class _Client:
    """Every node ready; each request sent is kept with its future, for the test to answer."""

    cluster = None

    def __init__(self) -> None:
        self.sent: list[tuple[Any, Future]] = []

    def await_ready(self, node_id: int, timeout_ms: float) -> bool:
        return True

    def least_loaded_node(self) -> int:
        return 0

    def send(self, node_id: int, request: Any) -> Future:
        future = Future()
        self.sent.append((request, future))
        return future


def _sender_in_a_transaction() -> tuple[Sender, TransactionManager, _Client]:
    tm = TransactionManager(transactional_id="t", retry_backoff_ms=100, api_version=(2, 8))
    tm._transition_to(TransactionState.INITIALIZING)
    tm.set_producer_id_and_epoch(ProducerIdAndEpoch(7, 0))
    tm._transition_to(TransactionState.READY)
    tm._transaction_coordinator = 0
    tm.begin_transaction()
    tm.maybe_add_partition_to_transaction(TopicPartition("out", 0))
    client = _Client()
    accumulator = SimpleNamespace(has_incomplete=False)
    sender = Sender(
        client, None, accumulator, transaction_manager=tm, transactional_id="t",
        retry_backoff_ms=100,
    )  # fmt: skip
    return sender, tm, client


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every wait of the sender's code, kafka-python's and ours, recorded instead of slept."""
    slept: list[float] = []
    clock = SimpleNamespace(sleep=slept.append, monotonic=time.monotonic, time=time.time)
    monkeypatch.setattr("kafka.producer.sender.time", clock)
    monkeypatch.setattr(txn_backoff, "_sleep", slept.append)
    return slept


def test_an_add_partitions_refused_as_concurrent_is_resent_after_20_ms_not_100(
    sleeps: list[float],
) -> None:
    assert txn_backoff.install()
    sender, tm, client = _sender_in_a_transaction()
    assert sender._maybe_send_pending_request()  # AddPartitionsToTxn, first try: no wait
    assert sleeps == [] and len(client.sent) == 1
    # The previous transaction's markers are still being written: the coordinator refuses.
    refused = SimpleNamespace(
        throttle_time_ms=0, results_by_topic_v3_and_below=[("out", [(0, _CONCURRENT_TRANSACTIONS)])]
    )
    client.sent[0][1].success(refused)
    assert sender._maybe_send_pending_request()  # the same request, again
    assert len(client.sent) == 2
    assert sleeps == [0.02]
    assert not tm.has_error()


def test_a_request_sent_for_the_first_time_waits_nothing(sleeps: list[float]) -> None:
    assert txn_backoff.install()
    sender, _, client = _sender_in_a_transaction()
    assert sender._maybe_send_pending_request()
    assert sleeps == [] and len(client.sent) == 1


def test_install_is_once_and_leaves_a_sender_without_the_line_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert txn_backoff.install()
    patched = TransactionManager.next_request_handler
    assert txn_backoff.install() and TransactionManager.next_request_handler is patched
    # A kafka-python whose sender no longer sleeps its configured backoff: nothing to fix.
    monkeypatch.setattr(TransactionManager, "next_request_handler", lambda self, pending: None)
    monkeypatch.setattr("inspect.getsource", lambda obj: "def _maybe_send_pending_request(): ...")
    assert not txn_backoff.install()
