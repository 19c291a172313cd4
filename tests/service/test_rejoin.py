"""No silent idle (in-memory transport): fenced clients and a member that lost every
partition are replaced by new clients, health says so meanwhile, and every case is counted."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from guard.config.settings import GuardSettings
from guard.contracts import load_registry
from guard.errors import FatalTransportError, RejoinRequiredError
from guard.service.build import build_service
from guard.service.health import Health, Status
from guard.service.metrics import ServiceMetrics
from guard.service.probe import ServiceProbe
from guard.service.runner import GuardService
from guard.transport.base import InRecord
from guard.transport.memory import MemoryBroker, MemoryPipe
from tests.fixtures.paths import SCHEMAS
from tests.service.test_metrics import GOOD

RECORDS = 30


def _settings(**over: object) -> GuardSettings:
    base: dict[str, object] = {
        "topics": {"orders": {"subject": "orders"}},
        "batch": {"max_records": 10, "poll_timeout_ms": 1},
        "retry": {"initial_backoff_ms": 1, "max_backoff_ms": 2, "max_attempts": 5},
        "metrics": {"stall_seconds": 0.3, "ready_seconds": 0.3},
    }
    base.update(over)
    return GuardSettings(**base)  # type: ignore[arg-type]


def _broker() -> MemoryBroker:
    broker = MemoryBroker()
    broker.create("orders", 2)
    for i in range(RECORDS):
        broker.produce("orders", GOOD, f"k{i}".encode(), partition=i % 2)
    return broker


class FencedPipe(MemoryPipe):
    """Polls `good` batches, then reports being fenced on every poll (librdkafka's `_FATAL`)."""

    def __init__(self, broker: MemoryBroker, good: int = 1) -> None:
        super().__init__(broker, "g")
        self.polls, self.good = 0, good

    def poll(self, max_records: int, timeout_ms: int) -> list[InRecord]:
        self.polls += 1
        if self.polls > self.good:
            raise RejoinRequiredError("poll: _FATAL: Static consumer fenced (injected)")
        return super().poll(max_records, timeout_ms)


class LostPipe(MemoryPipe):
    """A consumer that lost every partition and never gets them back: empty polls, no error."""

    def has_assignment(self) -> bool:
        return False

    def poll(self, max_records: int, timeout_ms: int) -> list[InRecord]:
        return []


def _service(
    settings: GuardSettings,
    pipes: list[MemoryPipe],
    health: Health,
    metrics: ServiceMetrics,
    then: Callable[[], MemoryPipe] | None = None,
) -> tuple[GuardService, list[MemoryPipe]]:
    """A service whose n-th connection gets `pipes[n]`; past the list, the last one again, or
    a pipe made by `then` when given."""
    made: list[MemoryPipe] = []

    def factory() -> MemoryPipe:
        if then is not None and len(made) >= len(pipes):
            made.append(then())
        else:
            made.append(pipes[min(len(made), len(pipes) - 1)])
        return made[-1]

    probe = ServiceProbe(metrics, health, {"orders": "orders"}, 0.01, 0)
    return build_service(settings, load_registry(SCHEMAS), pipe_factory=factory, probe=probe), made


def _value(m: ServiceMetrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, {"client": "kafka-python", **labels})


def test_fenced_clients_are_replaced_and_every_record_is_committed_once() -> None:
    broker = _broker()
    metrics = ServiceMetrics()
    service, made = _service(
        _settings(), [FencedPipe(broker), MemoryPipe(broker, "g")], Health(60, 30), metrics
    )
    summary = service.run(max_records=RECORDS)
    assert len(made) == 2  # the fenced pipe was replaced
    assert summary.stats.total == RECORDS
    assert sorted(r.key for r in broker.records("orders.valid")) == sorted(
        f"k{i}".encode() for i in range(RECORDS)
    )
    assert _value(metrics, "guard_rejoins_total", cause="fenced") == 1
    assert _value(metrics, "guard_transaction_aborts_total") == 1  # the fenced batch's


def test_fenced_more_than_max_rejoins_times_in_the_window_raises() -> None:
    broker = _broker()
    pipes: list[MemoryPipe] = [FencedPipe(broker, good=0) for _ in range(10)]
    settings = _settings(retry={"initial_backoff_ms": 1, "max_backoff_ms": 2, "max_rejoins": 2})
    service, made = _service(settings, pipes, Health(60, 30), ServiceMetrics())
    with pytest.raises(FatalTransportError, match=r"retry\.max_rejoins=2"):
        service.run(max_records=RECORDS)
    assert len(made) == 3  # the first pipe and two rejoins


def test_a_member_that_lost_every_partition_turns_unhealthy_then_rejoins_and_recovers() -> None:
    broker = _broker()
    metrics, health = ServiceMetrics(), Health(0.3, 0.3)
    lost = LostPipe(broker, "g")
    # What /healthz and /readyz said when the service gave up on the lost member: read as the
    # new clients are made, before they consume anything (a later read races their batches).
    at_rejoin: list[tuple[Status, Status]] = []

    class NewPipe(MemoryPipe):
        def __init__(self) -> None:
            at_rejoin.append((health.live(), health.ready()))
            super().__init__(broker, "g")

    service, made = _service(_settings(), [lost], health, metrics, then=NewPipe)
    runner = threading.Thread(target=service.run, kwargs={"max_records": RECORDS})
    runner.start()
    try:
        runner.join(10)
        assert not runner.is_alive()
    finally:
        service.request_stop("test")
        runner.join(10)
    assert len(made) == 2 and made[0] is lost
    # Idle with the group's records waiting: not live, not ready, counted as no progress.
    (live, ready), *_ = at_rejoin
    assert not live.ok and not ready.ok
    assert live.detail["lag"] == RECORDS
    assert len(broker.records("orders.valid")) == RECORDS
    assert health.live().ok
    assert _value(metrics, "guard_rejoins_total", cause="stalled") == 1
    assert (_value(metrics, "guard_rebalances_total") or 0) >= 1  # joined with the new pipe


def test_owning_no_partition_is_healthy_while_the_group_has_no_lag_or_moves() -> None:
    now = [0.0]
    health = Health(30, 10, clock=lambda: now[0])
    health.assignment(False)
    health.idle_poll()  # owning nothing, an idle poll proves nothing
    health.group_read(lag=0, committed=100)  # nothing waits for anyone: a spare member
    now[0] = 29
    health.group_read(lag=5, committed=100)
    now[0] = 31
    assert not health.live().ok  # records wait and nobody commits them
    health.group_read(lag=3, committed=102)  # another member commits: the group moves
    assert health.live().ok
    now[0] = 62
    health.group_read(lag=3, committed=102)
    assert not health.live().ok
    health.group_read(None, None)  # unknown: no progress either
    assert not health.live().ok


def test_the_rejoin_policy_counts_within_its_window_and_times_stalls_from_the_last_event() -> None:
    from guard.service.rejoin import RejoinPolicy

    now = [0.0]
    settings = _settings(
        retry={"max_rejoins": 1, "rejoin_window_s": 100},
        metrics={"stall_seconds": 10, "ready_seconds": 5},
    )
    policy = RejoinPolicy(settings, clock=lambda: now[0])
    now[0] = 9
    assert not policy.stall_due(True)
    now[0] = 10
    assert policy.stall_due(True) and not policy.stall_due(False)
    policy.streak_ended()  # a broker just came back: the stall counts from here
    now[0] = 15
    assert not policy.stall_due(True)
    policy.record("fenced")  # one rejoin allowed in the window
    now[0] = 50
    with pytest.raises(FatalTransportError, match=r"2 times in 100 s"):
        policy.record("fenced again")
    now[0] = 200  # the window has passed: counted afresh
    policy.record("fenced once more")
