"""A librdkafka transactional call that ignores its timeout is given up on, and its producer
abandoned: the caller gets RejoinRequiredError and never calls into that producer again.

No broker: the confluent-kafka Producer is replaced by a fake whose coordinator call blocks
on an Event, as librdkafka's did after a coordinator was SIGKILLed (#5456, #5511).
"""

from __future__ import annotations

import threading
import time
from typing import Any, ClassVar

import pytest

from guard.config.settings import KafkaSettings
from guard.errors import RejoinRequiredError, TransientTransportError
from guard.transport.confluent import bounded
from guard.transport.confluent import producer as producer_module
from guard.transport.confluent.bounded import StuckCallError, call_bounded, stuck_calls_pending
from guard.transport.confluent.producer import ConfluentTxProducer

# The longest a test waits for anything; the fake's blocked call gives up after it too, so
# no thread outlives a failed test for long.
_PATIENCE_S = 60.0


class _FakeProducer:
    """Stands in for confluent_kafka.Producer; `stuck` names the call that blocks."""

    made: ClassVar[list[_FakeProducer]] = []
    stuck: ClassVar[str] = ""

    def __init__(self, conf: dict[str, Any]) -> None:
        self.conf = conf
        self.calls: list[str] = []
        self.entered = threading.Event()  # the stuck call has started
        self.release = threading.Event()  # lets the stuck call return
        _FakeProducer.made.append(self)

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name == _FakeProducer.stuck:
            self.entered.set()
            self.release.wait(_PATIENCE_S)

    def init_transactions(self, _timeout: float) -> None:
        self._call("init_transactions")

    def begin_transaction(self) -> None:
        self._call("begin_transaction")

    def produce(self, *_args: Any) -> None:
        self._call("produce")

    def poll(self, _timeout: float) -> int:
        self._call("poll")
        return 0

    def flush(self, _timeout: float) -> int:
        self._call("flush")
        return 0

    def send_offsets_to_transaction(self, *_args: Any) -> None:
        self._call("send_offsets_to_transaction")

    def commit_transaction(self, _timeout: float) -> None:
        self._call("commit_transaction")

    def abort_transaction(self, _timeout: float) -> None:
        self._call("abort_transaction")

    def close(self) -> None:
        self._call("close")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> type[_FakeProducer]:
    monkeypatch.setattr(_FakeProducer, "made", [])
    monkeypatch.setattr(bounded, "_stuck", [])  # no stuck call of another test holds these
    monkeypatch.setattr(producer_module, "Producer", _FakeProducer)
    monkeypatch.setattr(producer_module, "_OVERRUN_MARGIN_S", 0.2)
    return _FakeProducer


def _producer() -> ConfluentTxProducer:
    settings = KafkaSettings(
        client="confluent", bootstrap_servers="localhost:1", request_timeout_ms=1000
    )
    return ConfluentTxProducer(settings, "tx-bounded")


@pytest.mark.parametrize("stuck", ["flush", "send_offsets_to_transaction", "commit_transaction"])
def test_a_commit_call_stuck_past_its_timeout_raises_rejoin_and_abandons_the_producer(
    fake: type[_FakeProducer], monkeypatch: pytest.MonkeyPatch, stuck: str
) -> None:
    monkeypatch.setattr(fake, "stuck", stuck)
    p = _producer()
    p.begin()
    first = fake.made[0]
    try:
        with pytest.raises(RejoinRequiredError, match="no answer from the client"):
            p.commit({("src", 0): 10}, group_metadata=object())
        # Given up on while the call is still blocked inside the client.
        assert first.entered.is_set() and not first.release.is_set()
        calls_when_abandoned = list(first.calls)
        p.abort()
        p.close()
    finally:
        first.release.set()
    _wait_until_no_stuck_call()
    p.begin()  # a fresh producer with the same transactional id
    assert first.calls == calls_when_abandoned  # never called again, not even to close
    assert first.calls[-1] == stuck
    assert len(fake.made) == 2
    assert fake.made[1].conf["transactional.id"] == "tx-bounded"
    assert fake.made[1].calls == ["init_transactions", "begin_transaction"]


def test_a_stuck_abort_abandons_the_producer_and_makes_a_new_one_at_once(
    fake: type[_FakeProducer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake, "stuck", "abort_transaction")
    p = _producer()
    p.begin()
    first = fake.made[0]
    try:
        p.abort()  # abort_or_recreate: the new producer's init aborts the stuck transaction
        assert first.entered.is_set() and not first.release.is_set()
        calls_when_abandoned = list(first.calls)
        assert len(fake.made) == 1, "no successor while the stuck call may still write"
    finally:
        first.release.set()
    _wait_until_no_stuck_call()
    p.ready()
    p.close()
    assert first.calls == calls_when_abandoned
    assert first.calls[-1] == "abort_transaction"
    assert len(fake.made) == 2
    assert fake.made[1].calls[0] == "init_transactions"


def _wait_until_no_stuck_call() -> None:
    deadline = time.monotonic() + _PATIENCE_S
    while stuck_calls_pending(_PATIENCE_S):
        assert time.monotonic() < deadline, "the released call never returned"
        time.sleep(0.01)


def test_no_successor_is_made_while_an_abandoned_producers_call_may_still_write(
    fake: type[_FakeProducer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A late send_offsets from an abandoned producer, after its successor's
    init_transactions aborted the transaction, would leave the group's offsets pending for
    ever (a hanging transaction): the successor waits for the stuck call to end."""
    monkeypatch.setattr(fake, "stuck", "send_offsets_to_transaction")
    settings = KafkaSettings(
        client="confluent", bootstrap_servers="localhost:1", request_timeout_ms=30_000
    )
    p = ConfluentTxProducer(settings, "tx-hold")
    p.begin()
    first = fake.made[0]
    try:
        with pytest.raises(RejoinRequiredError):
            p.commit({("src", 0): 10}, group_metadata=object())
        with pytest.raises(TransientTransportError, match="has not ended yet"):
            p.begin()
        assert len(fake.made) == 1
    finally:
        first.release.set()
    _wait_until_no_stuck_call()
    p.begin()  # the stuck call returned: the successor is made
    assert len(fake.made) == 2 and fake.made[1].calls[0] == "init_transactions"


def test_a_call_that_never_returns_holds_a_successor_only_up_to_the_request_timeout(
    fake: type[_FakeProducer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake, "stuck", "commit_transaction")
    p = _producer()  # request timeout 1 s
    p.begin()
    first = fake.made[0]
    try:
        with pytest.raises(RejoinRequiredError):
            p.commit({("src", 0): 10}, group_metadata=object())
        deadline = time.monotonic() + _PATIENCE_S
        while True:  # refused while the call is younger than the request timeout, then made
            try:
                p.begin()
                break
            except TransientTransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert not first.release.is_set(), "made while the old call still runs"
        assert len(fake.made) == 2
    finally:
        first.release.set()


def test_a_late_delivery_report_of_an_abandoned_producer_does_not_fail_the_next_batch(
    fake: type[_FakeProducer], monkeypatch: pytest.MonkeyPatch
) -> None:
    from confluent_kafka import KafkaError

    monkeypatch.setattr(fake, "stuck", "commit_transaction")
    p = _producer()
    p.begin()
    first = fake.made[0]
    try:
        with pytest.raises(RejoinRequiredError):
            p.commit({("src", 0): 10}, group_metadata=object())
    finally:
        first.release.set()
    _wait_until_no_stuck_call()
    p.begin()
    # The abandoned handle's callback reports a failure after the new batch began.
    first.conf["on_delivery"](KafkaError(KafkaError._MSG_TIMED_OUT), None)
    monkeypatch.setattr(fake, "stuck", "")
    p.commit({("src", 0): 10}, group_metadata=object())
    assert fake.made[1].calls[-1] == "commit_transaction"


class _FakeConsumer:
    """Stands in for confluent_kafka.Consumer in the pipe: consumer_group_metadata blocks."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.release = threading.Event()

    def consumer_group_metadata(self) -> object:
        self.calls.append("consumer_group_metadata")
        self.release.wait(_PATIENCE_S)
        return object()

    def close(self) -> None:
        self.calls.append("close")


def test_a_stuck_group_metadata_call_raises_rejoin_and_the_consumer_is_never_closed(
    fake: type[_FakeProducer], monkeypatch: pytest.MonkeyPatch
) -> None:
    from guard.transport.confluent import pipe as pipe_module

    consumer = _FakeConsumer()
    monkeypatch.setattr(pipe_module, "committed_consumer", lambda *_a, **_k: consumer)
    monkeypatch.setattr(pipe_module, "_GROUP_METADATA_BOUND_S", 0.2)
    settings = KafkaSettings(
        client="confluent", bootstrap_servers="localhost:1", request_timeout_ms=1000
    )
    pipe = pipe_module.ConfluentPipe(settings)
    pipe.begin()
    try:
        with pytest.raises(RejoinRequiredError, match="group metadata"):
            pipe.commit({("src", 0): 10})
        pipe.close()  # what the service's rejoin does
    finally:
        consumer.release.set()
    assert consumer.calls == ["consumer_group_metadata"]  # not closed under the stuck call
    assert fake.made[0].calls[-1] == "close"  # the producer was closed as usual


def test_a_call_within_its_bound_returns_its_value_or_raises_its_error() -> None:
    assert call_bounded("answer", lambda: 42, _PATIENCE_S) == 42

    def fail() -> None:
        raise TransientTransportError("broker said no")

    with pytest.raises(TransientTransportError, match="broker said no"):
        call_bounded("fail", fail, _PATIENCE_S)


def test_a_call_past_its_bound_raises_stuck_while_it_still_runs() -> None:
    release = threading.Event()
    try:
        with pytest.raises(StuckCallError):
            call_bounded("blocked", lambda: release.wait(_PATIENCE_S), 0.05)
        assert not release.is_set()
    finally:
        release.set()


def test_calls_that_return_reuse_one_worker_thread_named_after_each_call() -> None:
    call_bounded("warm", lambda: None, _PATIENCE_S)
    seen = [
        call_bounded(f"call {i}", lambda: (threading.get_ident(), threading.current_thread().name),
                     _PATIENCE_S)
        for i in range(20)
    ]  # fmt: skip
    assert len({ident for ident, _ in seen}) == 1
    assert [name for _, name in seen] == [f"guard-call-{i}" for i in range(20)]


def test_a_stuck_call_keeps_its_worker_which_ends_once_the_call_returns() -> None:
    release = threading.Event()
    stuck_on: list[threading.Thread] = []

    def blocked() -> None:
        stuck_on.append(threading.current_thread())
        release.wait(_PATIENCE_S)

    try:
        with pytest.raises(StuckCallError):
            call_bounded("blocked", blocked, 0.05)
        assert call_bounded("next", threading.get_ident, _PATIENCE_S) != stuck_on[0].ident
        assert stuck_on[0].is_alive()  # the stuck call still runs in its own worker
    finally:
        release.set()
    stuck_on[0].join(_PATIENCE_S)
    assert not stuck_on[0].is_alive()  # retired: it took no other call and ended


def test_coordinator_calls_get_the_step_limit_as_timeout_doubled_from_a_second_timed_out_one(
    fake: type[_FakeProducer], monkeypatch: pytest.MonkeyPatch
) -> None:
    from confluent_kafka import KafkaError, KafkaException

    timeouts: list[float] = []
    timed_out = KafkaException(KafkaError(KafkaError._TIMED_OUT))
    outcomes = [timed_out, timed_out, None, None]

    def send_offsets(_self: _FakeProducer, _offsets: Any, _meta: Any, timeout: float) -> None:
        timeouts.append(timeout)
        error = outcomes.pop(0)
        if error is not None:
            raise error

    monkeypatch.setattr(fake, "send_offsets_to_transaction", send_offsets)
    settings = KafkaSettings(
        client="confluent",
        bootstrap_servers="localhost:1",
        request_timeout_ms=30_000,
        transaction_timeout_ms=10_000,
    )
    p = ConfluentTxProducer(settings, "tx-steps")
    for _ in range(4):
        p.begin()
        try:
            p.commit({("src", 0): 10}, group_metadata=object())
        except TransientTransportError:
            p.abort()
    # Short again after one timeout (a dead node's cost), doubled after the second in a row,
    # short after a commit.
    assert timeouts == [5.0, 5.0, 10.0, 5.0]
