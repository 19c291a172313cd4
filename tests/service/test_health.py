"""Liveness and readiness: /healthz fails on a stalled loop, /readyz needs an assignment."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request

from guard.config.settings import GuardSettings, MetricsSettings
from guard.contracts import load_registry
from guard.service import GuardService, build_service
from guard.service.health import Health
from guard.service.metrics import MetricsServer, ServiceMetrics
from guard.service.probe import ServiceProbe
from guard.transport.base import InRecord
from guard.transport.memory import MemoryBroker, MemoryPipe
from tests.fixtures.paths import SCHEMAS


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_loop_without_progress_for_stall_seconds_is_not_live() -> None:
    clock = Clock()
    health = Health(stall_seconds=30, ready_seconds=10, clock=clock)
    clock.now += 29
    assert health.live().ok
    clock.now += 2
    status = health.live()
    assert not status.ok and status.detail["seconds_since_progress"] == 31


def test_a_commit_is_progress() -> None:
    clock = Clock()
    health = Health(30, 10, clock=clock)
    clock.now += 25
    health.committed()
    clock.now += 25
    assert health.live().ok


def test_idle_polls_count_as_progress_only_while_the_last_lag_read_found_no_work() -> None:
    clock = Clock()
    health = Health(30, 10, clock=clock)
    health.assignment(True)
    health.lag_read(0)
    clock.now += 25
    health.idle_poll()
    clock.now += 25
    assert health.live().ok  # a quiet stream is healthy
    health.lag_read(7)  # records waiting, yet polls return nothing
    clock.now += 25
    health.idle_poll()
    clock.now += 10
    assert not health.live().ok
    health.lag_read(None)  # the broker cannot be asked: idle polls prove nothing
    health.idle_poll()
    assert not health.live().ok


def test_ready_needs_an_assignment_and_recent_progress() -> None:
    clock = Clock()
    health = Health(30, 10, clock=clock)
    assert not health.ready().ok
    health.assignment(True)
    assert not health.ready().ok  # assigned, but nothing polled or committed yet
    health.committed()
    assert health.ready().ok
    clock.now += 11
    assert not health.ready().ok and health.live().ok
    health.committed()
    assert health.ready().ok


def _settings() -> GuardSettings:
    return GuardSettings(
        topics={"orders": {"subject": "orders"}},  # type: ignore[dict-item]
        batch={"max_records": 10, "poll_timeout_ms": 1},  # type: ignore[arg-type]
    )


def _code(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return err.code


class _StuckPipe(MemoryPipe):
    """A poll that hangs (a client stuck inside a call) until released."""

    def __init__(self, broker: MemoryBroker) -> None:
        super().__init__(broker, "g")
        self.stuck = threading.Event()
        self.release = threading.Event()

    def poll(self, max_records: int, timeout_ms: int) -> list[InRecord]:
        if self.stuck.is_set():
            self.release.wait(10)
        return super().poll(max_records, timeout_ms)


def _serve(pipe: MemoryPipe, stall_s: float) -> tuple[GuardService, MetricsServer, Health]:
    metrics, health = ServiceMetrics(), Health(stall_s, stall_s)
    probe = ServiceProbe(metrics, health, {"orders": "orders"}, 0.01, 0)
    service = build_service(
        _settings(),
        load_registry(SCHEMAS),
        pipe_factory=lambda: pipe,
        describe_targets=pipe.broker.describe_topics,
        probe=probe,
    )
    return service, MetricsServer("127.0.0.1", 0, metrics.registry, health).start(), health


def _wait_for(predicate: object, timeout: float = 5.0) -> bool:
    done = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if predicate():  # type: ignore[operator]
            return True
        done.wait(0.02)
    return False


def test_healthz_flips_to_503_on_a_stalled_loop_and_back_when_it_moves() -> None:
    broker = MemoryBroker()
    broker.create("orders", 1)
    pipe = _StuckPipe(broker)
    service, server, _ = _serve(pipe, stall_s=0.3)
    url = f"http://127.0.0.1:{server.port}"
    thread = threading.Thread(target=service.run)
    thread.start()
    try:
        assert _wait_for(lambda: _code(f"{url}/readyz") == 200)
        assert _code(f"{url}/healthz") == 200  # idle with no lag: healthy
        pipe.stuck.set()
        assert _wait_for(lambda: _code(f"{url}/healthz") == 503)
        assert _code(f"{url}/readyz") == 503
        pipe.stuck.clear()
        pipe.release.set()
        assert _wait_for(lambda: _code(f"{url}/healthz") == 200)
    finally:
        pipe.release.set()
        service.request_stop("test")
        thread.join(10)
        server.close()


def test_healthz_flips_to_503_when_the_broker_cannot_be_reached() -> None:
    broker = MemoryBroker()
    broker.create("orders", 1)
    pipe = MemoryPipe(broker, "g")
    service, server, health = _serve(pipe, stall_s=0.3)
    url = f"http://127.0.0.1:{server.port}"
    thread = threading.Thread(target=service.run)
    thread.start()
    try:
        assert _wait_for(
            lambda: _code(f"{url}/healthz") == 200 and health.live().detail["lag"] == 0
        )
        pipe.fail_lag = True  # like kafka-python with the broker down: empty polls, no lag
        assert _wait_for(lambda: _code(f"{url}/healthz") == 503)
        pipe.fail_lag = False
        assert _wait_for(lambda: _code(f"{url}/healthz") == 200)
    finally:
        service.request_stop("test")
        thread.join(10)
        server.close()


def test_a_burst_then_silence_stays_live_when_lag_is_read_less_often_than_stall_seconds() -> None:
    """Every record committed and nothing waiting: idle polls are progress at once, not only
    after the next scheduled lag read (here 30 s away, past the 1 s stall)."""
    broker = MemoryBroker()
    broker.create("orders", 1)
    for i in range(25):
        broker.produce("orders", b'{"n": %d}' % i)
    pipe = MemoryPipe(broker, "g")
    metrics, health = ServiceMetrics(), Health(1.0, 1.0)
    probe = ServiceProbe(metrics, health, {"orders": "orders"}, 30.0, 0)
    settings = _settings().model_copy(
        update={"metrics": MetricsSettings(stall_seconds=1.0, ready_seconds=1.0, lag_seconds=30)}
    )
    service = build_service(
        settings,
        load_registry(SCHEMAS),
        pipe_factory=lambda: pipe,
        describe_targets=broker.describe_topics,
        probe=probe,
    )
    thread = threading.Thread(target=service.run)
    thread.start()
    try:
        assert _wait_for(lambda: pipe.lag() == {("orders", 0): 0})
        threading.Event().wait(1.5)  # silence, past stall_seconds
        assert health.live().ok, health.live().detail
        assert (
            metrics.registry.get_sample_value(
                "guard_rejoins_total", {"client": "kafka-python", "cause": "stalled"}
            )
            == 0
        )
    finally:
        service.request_stop("test")
        thread.join(10)
