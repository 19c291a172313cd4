"""Stop conditions that hold while a client call hangs: watchdog, stop grace, signal flags."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Mapping

import pytest

from guard.config.settings import GuardSettings
from guard.contracts import load_registry
from guard.demo.samples import sample_stream
from guard.service import GuardService, build_service, last_resort
from guard.service.watchdog import InFlight, Stall, StepTracker, StopFlag, Watchdog
from guard.transport.base import InRecord, TopicPartition
from guard.transport.memory import MemoryBroker, MemoryPipe
from tests.fixtures.paths import SCHEMAS

STALL_S = 3.5  # must exceed 3 x request_timeout_ms (1 s, the minimum)


def _settings(**over: object) -> GuardSettings:
    base: dict[str, object] = {
        "topics": {"orders": {"subject": "orders"}},
        "kafka": {"request_timeout_ms": 1000, "transaction_timeout_ms": 2000},
        "batch": {"max_records": 10, "poll_timeout_ms": 1},
        "retry": {"initial_backoff_ms": 1, "max_backoff_ms": 2, "max_attempts": 5},
        "service": {"stall_timeout_s": STALL_S, "stop_grace_s": 0.5},
    }
    base.update(over)
    return GuardSettings(**base)  # type: ignore[arg-type]


def _broker(n: int = 30, partitions: int = 3) -> MemoryBroker:
    broker = MemoryBroker()
    broker.create("orders", partitions)
    for i, s in enumerate(sample_stream(n, bad_share=0.3)):
        broker.produce("orders", s.value, s.key, s.headers, partition=i % partitions)
    return broker


class HangingPipe(MemoryPipe):
    """A pipe whose poll (after `polls_before` good ones) or commit blocks until released,
    like kafka-python spinning on a record it cannot parse."""

    def __init__(self, broker: MemoryBroker, hang_in: str, polls_before: int = 0) -> None:
        super().__init__(broker, "g")
        self.hang_in = hang_in
        self.polls_before = polls_before
        self.release = threading.Event()

    def poll(self, max_records: int, timeout_ms: int) -> list[InRecord]:
        if self.hang_in == "poll":
            if self.polls_before == 0:
                self.release.wait()
                return []
            self.polls_before -= 1
        return super().poll(max_records, timeout_ms)

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        if self.hang_in == "commit" and offsets:
            self.release.wait()
            self.abort()
            return
        super().commit(offsets)


def _run_watched(service: GuardService, pipe: HangingPipe, stalls: list[Stall]) -> threading.Thread:
    def on_stall(stall: Stall) -> None:
        stalls.append(stall)
        service.request_stop("test over")
        pipe.release.set()  # in the real process: exit 3 instead

    service.start_watchdog(on_stall)
    runner = threading.Thread(target=service.run, daemon=True)
    runner.start()
    return runner


def test_a_poll_that_never_returns_is_reported_as_a_stall_naming_the_step() -> None:
    broker = _broker()
    pipe = HangingPipe(broker, "poll", polls_before=1)
    service = build_service(
        _settings(),
        load_registry(SCHEMAS),
        pipe_factory=lambda: pipe,
        describe_targets=pipe.broker.describe_topics,
    )
    stalls: list[Stall] = []
    runner = _run_watched(service, pipe, stalls)
    runner.join(timeout=STALL_S + 10)
    assert not runner.is_alive()
    [stall] = stalls
    assert stall.cause == "stalled" and stall.step == "poll" and stall.held_s > STALL_S
    assert stall.in_flight == []  # nothing polled yet: where the loop resumes is known
    assert sum(stall.resume_at.values()) == 10 and all(
        k.startswith("orders/") for k in stall.resume_at
    )


def test_a_commit_that_never_returns_is_reported_with_the_batch_in_flight() -> None:
    pipe = HangingPipe(_broker(), "commit")
    service = build_service(
        _settings(),
        load_registry(SCHEMAS),
        pipe_factory=lambda: pipe,
        describe_targets=pipe.broker.describe_topics,
    )
    stalls: list[Stall] = []
    runner = _run_watched(service, pipe, stalls)
    runner.join(timeout=STALL_S + 10)
    [stall] = stalls
    assert stall.step == "commit"
    spans = {
        (s["topic"], s["partition"]): (s["first_offset"], s["last_offset"]) for s in stall.in_flight
    }
    assert spans == {("orders", 0): (0, 9)}  # the memory pipe polls partition 0 first


def test_a_stop_that_cannot_finish_within_the_grace_is_reported() -> None:
    pipe = HangingPipe(_broker(), "commit")
    service = build_service(
        _settings(),
        load_registry(SCHEMAS),
        pipe_factory=lambda: pipe,
        describe_targets=pipe.broker.describe_topics,
    )
    stalls: list[Stall] = []
    runner = _run_watched(service, pipe, stalls)
    threading.Timer(0.3, service.request_stop, args=("SIGTERM",)).start()
    runner.join(timeout=10)
    [stall] = stalls
    assert stall.cause == "stop-grace-exceeded" and stall.step == "commit"
    # The grace (less one watchdog interval, so the exit is within it), not the stall timeout.
    assert 0.5 - 0.05 < stall.held_s < STALL_S


def test_the_watchdog_is_quiet_while_steps_finish_in_time() -> None:
    clock = [100.0]
    tracker, stop = StepTracker(), StopFlag()
    dog = Watchdog(tracker, stop, stall_timeout_s=10, stop_grace_s=5, clock=lambda: clock[0])
    tracker.step, tracker.since = "poll", 95.0
    assert dog.check() is None
    clock[0] = 105.1
    stall = dog.check()
    assert stall is not None and stall.step == "poll" and stall.held_s == pytest.approx(10.1)


def test_stop_grace_counts_from_when_the_stop_was_seen() -> None:
    clock = [0.0]
    tracker, stop = StepTracker(), StopFlag()
    dog = Watchdog(tracker, stop, stall_timeout_s=100, stop_grace_s=5, clock=lambda: clock[0])
    clock[0] = 50.0
    stop.set("SIGTERM")
    assert dog.check() is None
    clock[0] = 54.9
    assert dog.check() is None
    clock[0] = 55.1
    stall = dog.check()
    assert stall is not None and stall.cause == "stop-grace-exceeded"


def test_a_finished_loop_is_never_reported() -> None:
    tracker, stop = StepTracker(), StopFlag()
    dog = Watchdog(tracker, stop, stall_timeout_s=1, stop_grace_s=1, clock=lambda: 1e9)
    tracker.step, tracker.since, tracker.finished = "close", 1.0, True
    stop.set("SIGTERM")
    assert dog.check() is None


def test_in_flight_spans_name_each_partition_first_and_last_offset() -> None:
    recs = [InRecord("t", p, o, 0, None, b"", []) for p, o in [(1, 7), (0, 3), (1, 9), (0, 4)]]
    assert InFlight(recs).describe() == [
        {"topic": "t", "partition": 0, "first_offset": 3, "last_offset": 4},
        {"topic": "t", "partition": 1, "first_offset": 7, "last_offset": 9},
    ]


def test_sigterm_only_sets_the_stop_flag_and_the_run_commits_and_returns() -> None:
    broker = _broker(200)
    pipe = MemoryPipe(broker, "g")
    service = build_service(
        _settings(),
        load_registry(SCHEMAS),
        pipe_factory=lambda: pipe,
        describe_targets=pipe.broker.describe_topics,
    )
    old = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    original_commit = pipe.commit

    def commit_then_signal(offsets: Mapping[TopicPartition, int]) -> None:
        original_commit(offsets)
        os.kill(os.getpid(), signal.SIGTERM)

    pipe.commit = commit_then_signal  # type: ignore[method-assign]
    try:
        service.install_signal_handlers()
        summary = service.run()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    assert summary.stopped_by == "SIGTERM" and summary.stats.total == 10
    assert sum(broker.committed["g"].values()) == 10


def test_stop_flag_sleep_returns_early_on_a_stop() -> None:
    stop = StopFlag()
    threading.Timer(0.1, stop.set, args=("x",)).start()
    done = threading.Event()

    def sleeper() -> None:
        stop.sleep(30)
        done.set()

    threading.Thread(target=sleeper, daemon=True).start()
    assert done.wait(5) and stop.reason == "x"


def test_records_polled_but_never_committed_are_reported_as_no_progress() -> None:
    """Every step returns, but the same batch fails again and again without the retry
    limits ending the loop: the watchdog still ends it."""
    pipe = MemoryPipe(_broker(), "g")
    pipe.fail_next_commits = 10**9
    retry = {"initial_backoff_ms": 1, "max_backoff_ms": 5, "max_attempts": 10**6}
    settings = _settings(retry={**retry, "outage_budget_s": 1000})
    service = build_service(
        settings,
        load_registry(SCHEMAS),
        pipe_factory=lambda: pipe,
        describe_targets=pipe.broker.describe_topics,
    )
    stalls: list[Stall] = []

    def on_stall(stall: Stall) -> None:
        stalls.append(stall)
        service.request_stop("test over")

    service.start_watchdog(on_stall)
    runner = threading.Thread(target=service.run, daemon=True)
    runner.start()
    runner.join(timeout=STALL_S + 10)
    assert not runner.is_alive()
    [stall] = stalls
    assert stall.cause == "no-progress" and stall.held_s > STALL_S
    assert stall.in_flight and stall.resume_at == {}


def test_the_last_resort_timer_is_armed_when_a_stop_is_seen_and_disarmed_on_close() -> None:
    """With `last_resort` (the `guard run` process), a stop arms the kernel's SIGALRM for the
    grace plus a margin, so even a frozen interpreter ends; a stop done in time disarms it."""
    grace = 5000.0  # far above any alarm pytest-timeout may have set in this process
    saved = signal.getitimer(signal.ITIMER_REAL)
    stop = StopFlag()
    dog = Watchdog(StepTracker(), stop, 9000.0, grace, on_stall=lambda _s: None, last_resort=True)
    dog.start()
    try:
        stop.set("SIGTERM")
        deadline = time.monotonic() + 60
        while (left := signal.getitimer(signal.ITIMER_REAL)[0]) <= grace - 60:
            assert time.monotonic() < deadline, "never armed"
            time.sleep(0.01)
        assert left <= grace + last_resort.KILL_AFTER_S
        dog.close()
        assert signal.getitimer(signal.ITIMER_REAL)[0] == 0.0
    finally:
        dog.close()
        signal.setitimer(signal.ITIMER_REAL, *saved)  # pytest-timeout's, if it had one


def test_without_the_last_resort_a_stop_arms_no_timer() -> None:
    """In-process watchdogs (tests, embedding) must not arm SIGALRM: it ends the host."""
    saved = signal.getitimer(signal.ITIMER_REAL)[0]
    stop, seen = StopFlag(), threading.Event()
    dog = Watchdog(StepTracker(), stop, 600.0, 0.5, on_stall=lambda _s: seen.set())
    dog.start()
    try:
        stop.set("SIGTERM")
        assert seen.wait(60), "the grace never ran out"
        assert signal.getitimer(signal.ITIMER_REAL)[0] <= saved
    finally:
        dog.close()
