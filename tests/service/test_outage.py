"""Failure streaks end on time: the outage budget, retried connects, stops during backoff."""

from __future__ import annotations

import threading
import time

import pytest

from guard.config.settings import GuardSettings
from guard.contracts import load_registry
from guard.demo.samples import sample_stream
from guard.errors import TransientTransportError
from guard.service import build_service
from guard.transport.base import InRecord, Pipe
from guard.transport.memory import MemoryBroker, MemoryPipe
from tests.fixtures.paths import SCHEMAS


def _settings(**retry: object) -> GuardSettings:
    return GuardSettings(
        topics={"orders": {"subject": "orders"}},  # type: ignore[arg-type]
        batch={"max_records": 10, "poll_timeout_ms": 1},  # type: ignore[arg-type]
        retry={"initial_backoff_ms": 20, "max_backoff_ms": 50, **retry},  # type: ignore[arg-type]
    )


def _broker(n: int = 30) -> MemoryBroker:
    broker = MemoryBroker()
    broker.create("orders", 1)
    for s in sample_stream(n, bad_share=0.3):
        broker.produce("orders", s.value, s.key, s.headers)
    return broker


def test_a_failure_streak_longer_than_the_outage_budget_ends_the_run() -> None:
    pipe = MemoryPipe(_broker(), "g")
    pipe.fail_next_commits = 10**6
    service = build_service(
        _settings(max_attempts=10**6, outage_budget_s=0.5),
        load_registry(SCHEMAS),
        pipe_factory=lambda: pipe,
        describe_targets=pipe.broker.describe_topics,
    )
    started = time.monotonic()
    with pytest.raises(TransientTransportError, match=r"outage_budget_s=0\.5"):
        service.run()
    assert 0.5 <= time.monotonic() - started < 5


def test_the_outage_budget_counts_each_streak_from_its_own_first_failure() -> None:
    """Short failure streaks separated by successes never add up to the budget."""
    broker = _broker(60)
    pipe = MemoryPipe(broker, "g")
    original = pipe.commit
    calls = [0]

    def flaky_commit(offsets: dict[tuple[str, int], int]) -> None:
        calls[0] += 1
        if calls[0] % 2:  # every other commit fails, after a pause
            time.sleep(0.15)
            pipe.abort()
            raise TransientTransportError("injected")
        original(offsets)

    pipe.commit = flaky_commit  # type: ignore[method-assign]
    service = build_service(
        _settings(max_attempts=100, outage_budget_s=0.3),
        load_registry(SCHEMAS),
        pipe_factory=lambda: pipe,
        describe_targets=pipe.broker.describe_topics,
    )
    summary = service.run(idle_timeout=0)  # 6 batches x 0.15 s of failures > the budget
    assert summary.stats.total == 60 and summary.retries == 6


def test_a_broker_unreachable_at_start_is_retried_like_any_failure() -> None:
    broker = _broker()
    attempts = [0]

    def connect() -> Pipe:
        attempts[0] += 1
        if attempts[0] < 3:
            raise TransientTransportError("create consumer: NoBrokersAvailable")
        return MemoryPipe(broker, "g")

    summary = build_service(_settings(), load_registry(SCHEMAS), pipe_factory=connect).run(
        idle_timeout=0
    )
    assert attempts[0] == 3 and summary.stats.total == 30


def test_a_broker_unreachable_for_the_whole_budget_at_start_ends_the_run() -> None:
    def connect() -> Pipe:
        raise TransientTransportError("create consumer: NoBrokersAvailable")

    service = build_service(
        _settings(max_attempts=10**6, outage_budget_s=0.3),
        load_registry(SCHEMAS),
        pipe_factory=connect,
    )
    with pytest.raises(TransientTransportError, match="NoBrokersAvailable"):
        service.run()


def test_a_stop_during_a_backoff_starts_no_further_attempt() -> None:
    attempts = [0]

    def connect() -> Pipe:
        attempts[0] += 1
        raise TransientTransportError("create consumer: NoBrokersAvailable")

    service = build_service(
        GuardSettings(
            topics={"orders": {"subject": "orders"}},  # type: ignore[arg-type]
            retry={"initial_backoff_ms": 5000, "max_backoff_ms": 5000, "max_attempts": 100},  # type: ignore[arg-type]
        ),
        load_registry(SCHEMAS),
        pipe_factory=connect,
    )
    at_stop: list[int] = []

    def stop() -> None:
        at_stop.append(attempts[0])
        service.request_stop("SIGTERM")

    threading.Timer(1.0, stop).start()
    started = time.monotonic()
    summary = service.run()
    assert summary.stopped_by == "SIGTERM" and attempts[0] == at_stop[0]
    assert time.monotonic() - started < 3  # a backoff of up to 5 s was cut short


def test_a_failure_streak_is_not_counted_as_idle_time() -> None:
    """A streak longer than the idle timeout, then a first poll that finds nothing yet (new
    clients still fetching): the run goes on and reads what waits, not stopped as idle."""
    pipe = MemoryPipe(_broker(), "g")
    original = pipe.poll
    polls = [0]

    def slow_outage_then_empty(max_records: int, timeout_ms: int) -> list[InRecord]:
        polls[0] += 1
        if polls[0] <= 3:
            time.sleep(0.5)  # three failures: 1.5 s, longer than the idle timeout
            raise TransientTransportError("injected")
        if polls[0] == 4:
            return []
        return original(max_records, timeout_ms)

    pipe.poll = slow_outage_then_empty  # type: ignore[method-assign]
    service = build_service(
        _settings(max_attempts=100, outage_budget_s=60),
        load_registry(SCHEMAS),
        pipe_factory=lambda: pipe,
        describe_targets=pipe.broker.describe_topics,
    )
    summary = service.run(idle_timeout=1.0)
    assert summary.stats.total == 30, summary.stopped_by
