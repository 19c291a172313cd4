"""The batch's transaction as the service loop drives it (in-memory pipe)."""

from __future__ import annotations

import pytest

from guard.errors import TransientTransportError
from guard.routing.router import RoutedBatch, RoutingStats
from guard.service.probe import NULL_PROBE
from guard.service.transaction import BatchObserver, Transaction
from guard.service.watchdog import StepTracker
from guard.transport.base import InRecord, OutRecord
from guard.transport.memory import MemoryBroker, MemoryPipe


class Recorder:
    """An observer that adds one record per batch and says what it was told."""

    def __init__(self, add: bool = True) -> None:
        self.add = add
        self.events: list[str] = []

    def before_commit(self, routed: RoutedBatch) -> list[OutRecord]:
        self.events.append("before")
        return [OutRecord("profiles", b"p", b"{}", [])] if self.add else []

    def after_commit(self) -> None:
        self.events.append("after_commit")

    def after_abort(self) -> None:
        self.events.append("after_abort")


def _txn(observers: list[BatchObserver]) -> tuple[Transaction, MemoryPipe, MemoryBroker]:
    broker = MemoryBroker()
    for topic in ("orders", "orders.valid", "profiles"):
        broker.create(topic, 1)
    pipe = MemoryPipe(broker, "g")
    txn = Transaction(StepTracker(), observers, NULL_PROBE)
    txn.pipe = pipe
    return txn, pipe, broker


def _batch(offset: int) -> RoutedBatch:
    return RoutedBatch([], {("orders", 0): offset}, RoutingStats(), [])


def test_slices_observer_records_and_offsets_commit_together() -> None:
    observer = Recorder()
    txn, _, broker = _txn([observer])
    txn.begin()
    txn.send([OutRecord("orders.valid", b"a", b"1", [])])
    txn.send([OutRecord("orders.valid", b"b", b"2", [])])
    txn.commit(_batch(2))
    assert [r.key for r in broker.records("orders.valid")] == [b"a", b"b"]
    assert [r.key for r in broker.records("profiles")] == [b"p"]
    assert broker.committed["g"][("orders", 0)] == 2
    assert observer.events == ["before", "after_commit"] and not txn.open


def test_an_aborted_transaction_leaves_nothing_and_tells_observers() -> None:
    observer = Recorder()
    txn, _, broker = _txn([observer])
    txn.begin()
    txn.send([OutRecord("orders.valid", b"a", b"1", [])])
    txn.abort()
    assert broker.records("orders.valid") == [] and ("orders", 0) not in broker.committed["g"]
    assert observer.events == ["after_abort"] and not txn.open


def test_an_idle_turn_opens_a_transaction_only_for_observer_records() -> None:
    quiet, talking = Recorder(add=False), Recorder()
    txn, _, broker = _txn([quiet])
    txn.idle()
    assert quiet.events == ["before", "after_commit"] and broker.committed["g"] == {}
    txn, _, broker = _txn([talking])
    txn.idle()
    assert [r.key for r in broker.records("profiles")] == [b"p"]


def test_a_failed_commit_raises_and_the_abort_after_it_does_not() -> None:
    txn, pipe, broker = _txn([])
    pipe.fail_next_commits = 1
    txn.begin()
    txn.send([OutRecord("orders.valid", b"a", b"1", [])])
    with pytest.raises(TransientTransportError):
        txn.commit(_batch(1))
    pipe.abort = lambda: (_ for _ in ()).throw(TransientTransportError("abort failed"))  # type: ignore[method-assign]
    txn.abort()  # logged; the pipe rewinds on its next poll
    assert broker.records("orders.valid") == [] and not txn.open


def test_abort_before_connecting_only_tells_observers() -> None:
    observer = Recorder()
    txn = Transaction(StepTracker(), [observer], NULL_PROBE)
    txn.abort()
    assert observer.events == ["after_abort"]


def test_an_aborted_batch_is_described_by_its_spans_without_keeping_its_records() -> None:
    txn, _pipe, _broker = _txn([])
    batch = [
        InRecord("orders", 0, 7, 1, b"k", b"v" * 1000, []),
        InRecord("orders", 0, 9, 1, None, None, []),
    ]
    txn.tracker.polled(batch)
    in_flight = txn.tracker.in_flight
    assert in_flight is not None and in_flight.holds_records
    txn.begin()
    txn.abort()
    assert txn.tracker.in_flight is in_flight and not in_flight.holds_records
    assert in_flight.describe() == [
        {"topic": "orders", "partition": 0, "first_offset": 7, "last_offset": 9}
    ]


class _Told:
    """An observer that keeps what each batch told it about the broker."""

    def __init__(self) -> None:
        self.failing: list[bool] = []

    def before_commit(self, routed: RoutedBatch) -> list[OutRecord]:
        self.failing.append(routed.broker_failing)
        return []

    def after_commit(self) -> None:
        pass

    def after_abort(self) -> None:
        pass


def test_observers_are_told_the_broker_fails_from_an_abort_until_a_transaction_lands() -> None:
    told = _Told()
    txn, _, _ = _txn([told])
    txn.idle()
    txn.begin()
    txn.abort()  # a transient failure
    txn.idle()  # nothing to commit: nothing reached the broker, it still counts as failing
    txn.begin()
    txn.commit(_batch(1))  # landed
    txn.idle()
    assert told.failing == [False, True, True, False]


def test_a_read_the_broker_answered_ends_its_failure_and_a_failed_read_starts_one() -> None:
    told = _Told()
    txn, _, _ = _txn([told])
    txn.broker_read(False)
    txn.idle()
    txn.broker_read(None)  # no read this turn: nothing learnt
    txn.idle()
    txn.broker_read(True)
    txn.idle()
    assert told.failing == [True, True, False]
