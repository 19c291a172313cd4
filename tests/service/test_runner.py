"""GuardService loop over the in-memory pipe: batching, bounded runs, retries, stop."""

from __future__ import annotations

import json
import threading
from collections import Counter

import pytest

from guard.config.settings import GuardSettings
from guard.contracts import load_registry
from guard.demo.samples import sample_stream
from guard.errors import ConfigError, RegistryUnavailableError, TransientTransportError
from guard.quarantine.envelope import read_envelope
from guard.routing.router import RoutedBatch, Router
from guard.service import GuardService, build_service
from guard.transport.base import InRecord, OutRecord
from guard.transport.memory import MemoryBroker, MemoryPipe
from tests.fixtures.paths import SCHEMAS


def _settings(**over: object) -> GuardSettings:
    base: dict[str, object] = {
        "topics": {"orders": {"subject": "orders"}},
        "batch": {"max_records": 25, "poll_timeout_ms": 1},
        "retry": {"initial_backoff_ms": 1, "max_backoff_ms": 2, "max_attempts": 5},
    }
    base.update(over)
    return GuardSettings(**base)  # type: ignore[arg-type]


def _broker(n: int = 200, partitions: int = 3) -> tuple[MemoryBroker, dict[bytes, str | None]]:
    broker = MemoryBroker()
    broker.create("orders", partitions)
    expected: dict[bytes, str | None] = {}
    for i, s in enumerate(sample_stream(n, bad_share=0.3, large_bytes=1_100_000)):
        broker.produce("orders", s.value, s.key, s.headers, partition=i % partitions)
        expected[s.key] = s.expected
    return broker, expected


def _outcome(broker: MemoryBroker) -> Counter[tuple[bytes | None, str | None]]:
    seen: Counter[tuple[bytes | None, str | None]] = Counter()
    for r in broker.records("orders.valid"):
        seen[(r.key, None)] += 1
    for r in broker.records("orders.quarantine"):
        seen[(r.key, read_envelope(r.headers)["reasons"][0])] += 1
    return seen


def _service(broker: MemoryBroker, **over: object) -> tuple[GuardService, MemoryPipe]:
    pipe = MemoryPipe(broker, "g")
    return build_service(
        _settings(**over),
        load_registry(SCHEMAS),
        pipe_factory=lambda: pipe,
        describe_targets=pipe.broker.describe_topics,
    ), pipe


def test_every_record_lands_once_with_its_expected_verdict() -> None:
    broker, expected = _broker()
    service, _ = _service(broker)
    summary = service.run(idle_timeout=0)
    assert _outcome(broker) == Counter({(k, r): 1 for k, r in expected.items()})
    assert summary.stats.total == len(expected)


def test_transient_commit_failures_are_retried_without_loss_or_duplicates() -> None:
    broker, expected = _broker()
    service, pipe = _service(broker)
    pipe.fail_next_commits = 3
    summary = service.run(idle_timeout=0)
    assert summary.retries == 3
    assert _outcome(broker) == Counter({(k, r): 1 for k, r in expected.items()})


def test_persistent_broker_failure_gives_up_after_max_attempts() -> None:
    broker, _ = _broker(20)
    service, pipe = _service(broker)
    pipe.fail_next_commits = 10**6
    with pytest.raises(TransientTransportError):
        service.run(idle_timeout=0)
    assert broker.records("orders.valid") == [] and broker.committed["g"] == {}


def test_max_records_stops_after_exactly_that_many_records() -> None:
    broker, _ = _broker(200)
    service, _ = _service(broker)
    summary = service.run(max_records=60)
    assert summary.stats.total == 60 and summary.stopped_by == "max-records"
    assert sum(broker.committed["g"].values()) == 60


def test_a_second_run_resumes_from_committed_offsets() -> None:
    broker, expected = _broker(200)
    _service(broker)[0].run(max_records=70)
    _service(broker)[0].run(idle_timeout=0)
    assert _outcome(broker) == Counter({(k, r): 1 for k, r in expected.items()})


def test_valid_records_keep_their_per_partition_order() -> None:
    broker, _ = _broker(300)
    broker.create("orders.valid", 3)
    _service(broker)[0].run(idle_timeout=0)
    source_order = {r.key: (r.partition, r.offset) for r in broker.records("orders")}
    for index, part in enumerate(broker.topics["orders.valid"]):
        positions = [source_order[r.key] for r in part]
        assert positions, "every partition has valid records"
        assert all(p == index for p, _ in positions)  # mirrored partition
        assert positions == sorted(positions)  # source order kept


def test_stop_request_finishes_the_batch_in_flight_and_returns() -> None:
    broker, _ = _broker(200)
    service, pipe = _service(broker)
    original_commit = pipe.commit

    def commit_then_stop(offsets: dict[tuple[str, int], int]) -> None:
        original_commit(offsets)
        service.request_stop("test")

    pipe.commit = commit_then_stop  # type: ignore[method-assign]
    summary = service.run()
    assert summary.stopped_by == "test" and summary.stats.total == 25
    assert sum(broker.committed["g"].values()) == 25


def test_idle_timeout_stops_a_run_with_no_records() -> None:
    broker = MemoryBroker()
    broker.create("orders", 1)
    service, _ = _service(broker)
    timer = threading.Timer(5, service.request_stop)  # safety net: the test must not hang
    timer.start()
    try:
        summary = service.run(idle_timeout=0.05)
    finally:
        timer.cancel()
    assert summary.stopped_by == "idle-timeout" and summary.stats.total == 0


def test_output_topics_are_created_with_the_source_partition_count() -> None:
    broker, _ = _broker(10, partitions=4)
    _service(broker)[0].run(idle_timeout=0)
    assert len(broker.topics["orders.valid"]) == 4 and len(broker.topics["orders.quarantine"]) == 4


class _CountingObserver:
    """Stages a count per batch; applies it only on commit; emits one record per batch."""

    def __init__(self) -> None:
        self.committed = 0
        self._staged = 0
        self.aborts = 0

    def before_commit(self, routed):  # type: ignore[no-untyped-def]
        self._staged = len(routed.verdicts)
        return [OutRecord("observer.out", None, str(self._staged).encode(), [])]

    def after_commit(self) -> None:
        self.committed += self._staged
        self._staged = 0

    def after_abort(self) -> None:
        self._staged = 0
        self.aborts += 1


def test_observer_state_and_records_follow_the_transaction_exactly_once() -> None:
    broker, expected = _broker(200)
    pipe = MemoryPipe(broker, "g")
    pipe.fail_next_commits = 2
    observer = _CountingObserver()
    build_service(
        _settings(),
        load_registry(SCHEMAS),
        pipe_factory=lambda: pipe,
        observers=[observer],
        describe_targets=pipe.broker.describe_topics,
    ).run(idle_timeout=0)
    assert observer.committed == len(expected) and observer.aborts == 2
    assert sum(int(r.value or b"0") for r in broker.records("observer.out")) == len(expected)


def test_a_commit_that_landed_but_reported_failure_is_not_duplicated() -> None:
    broker, expected = _broker()
    service, pipe = _service(broker)
    pipe.land_then_fail_commits = 3
    service.run(idle_timeout=0)
    assert _outcome(broker) == Counter({(k, r): 1 for k, r in expected.items()})


def test_a_stop_during_a_broker_outage_ends_the_run_without_exhausting_retries() -> None:
    broker, _ = _broker(20)
    retry = {"initial_backoff_ms": 100, "max_backoff_ms": 200, "max_attempts": 50}
    service, pipe = _service(broker, retry=retry)
    pipe.fail_next_commits = 10**6
    timer = threading.Timer(0.3, service.request_stop, args=("SIGTERM",))
    timer.start()
    summary = service.run()  # must return, not raise after 50 attempts
    timer.cancel()
    assert summary.stopped_by == "SIGTERM" and summary.retries < 49
    assert broker.committed["g"] == {} and broker.records("orders.valid") == []


def test_logs_never_contain_record_keys_or_values(capsys: pytest.CaptureFixture[str]) -> None:
    from guard.logs import configure_logging

    configure_logging("DEBUG", "json")
    broker = MemoryBroker()
    broker.create("orders", 1)
    secret = "s3cr3t-4111-1111"
    broker.produce(
        "orders", json.dumps({"order_id": secret, "amount": secret}).encode(), secret.encode()
    )
    broker.produce("orders", f"not json {secret}".encode(), secret.encode())
    service, pipe = _service(broker)
    pipe.fail_next_commits = 1  # the retry path logs too
    summary = service.run(idle_timeout=0)
    assert summary.stats.quarantined == 2
    logged = capsys.readouterr().err
    assert '"batch committed"' in logged and secret not in logged


def _retry_lines(logged: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    return [line for line in lines if "aborting batch and retrying" in str(line["event"])]


def test_a_batch_retried_for_a_schema_registry_failure_logs_a_registry_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from guard.logs import configure_logging

    configure_logging("INFO", "json")
    broker, expected = _broker(20)
    route = Router.route
    failures = [1]

    def failing_route(self: Router, batch: list[InRecord]) -> RoutedBatch:
        if failures[0]:
            failures[0] -= 1
            raise RegistryUnavailableError("schema registry http://r/schemas/ids/7: HTTP 503")
        return route(self, batch)

    monkeypatch.setattr(Router, "route", failing_route)
    service, _ = _service(broker)
    assert service.run(idle_timeout=0).retries == 1
    [line] = _retry_lines(capsys.readouterr().err)
    assert line["event"] == "transient schema registry failure; aborting batch and retrying"
    assert line["attempt"] == 1 and "HTTP 503" in str(line["error"])
    assert _outcome(broker) == Counter({(k, r): 1 for k, r in expected.items()})


def test_a_batch_retried_for_a_broker_failure_logs_a_broker_failure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from guard.logs import configure_logging

    configure_logging("INFO", "json")
    broker, _ = _broker(20)
    service, pipe = _service(broker)
    pipe.fail_next_commits = 1
    service.run(idle_timeout=0)
    [line] = _retry_lines(capsys.readouterr().err)
    assert line["event"] == "transient broker failure; aborting batch and retrying"


def test_a_missing_source_topic_is_a_config_error_and_creates_nothing() -> None:
    broker = MemoryBroker()
    service, _ = _service(broker)
    with pytest.raises(ConfigError, match="source topic orders does not exist"):
        service.run(idle_timeout=0)
    assert "orders.valid" not in broker.topics and "orders.quarantine" not in broker.topics


def test_missing_sources_wait_starts_once_the_topic_appears() -> None:
    broker = MemoryBroker()
    service, _ = _service(broker, missing_sources="wait")
    waits: list[float] = []

    def wait_then_create(seconds: float, tick: float = 0.05) -> None:
        waits.append(seconds)
        broker.create("orders", 2)
        broker.produce("orders", b'{"x": 1}', b"k")

    service._stop.sleep = wait_then_create  # type: ignore[method-assign]
    summary = service.run(idle_timeout=0)
    assert len(waits) == 1 and summary.stats.total == 1
    assert len(broker.topics["orders.quarantine"]) == 2


def test_a_stop_while_waiting_for_a_missing_source_ends_the_run_as_a_signal_stop() -> None:
    """SIGTERM during the start-up wait for a source topic: a clean stop (exit 0), no error."""
    broker = MemoryBroker()
    service, _ = _service(broker, missing_sources="wait")
    service._stop.sleep = lambda seconds, tick=0.05: service._stop.set("SIGTERM")  # type: ignore[method-assign]
    summary = service.run(idle_timeout=0)
    assert summary.stopped_by == "SIGTERM" and summary.stats.total == 0


def test_quarantine_topics_are_created_with_the_configured_retention() -> None:
    broker, _ = _broker(10)
    _service(broker, quarantine_retention_ms=86_400_000)[0].run(idle_timeout=0)
    assert broker.configs["orders.quarantine"] == {"retention.ms": "86400000"}
    assert broker.configs["orders.valid"] == {}


def test_quarantine_retention_defaults_to_thirty_days() -> None:
    assert _settings().quarantine_retention_ms == 30 * 24 * 3600 * 1000


class _TimelinePipe(MemoryPipe):
    """Notes when records reach the producer, counted in records the guard has judged."""

    def __init__(self, broker: MemoryBroker, judged: list[int]) -> None:
        super().__init__(broker, "g")
        self.judged = judged
        self.sends_after: list[int] = []

    def send(self, record: OutRecord) -> None:
        self.sends_after.append(self.judged[0])
        super().send(record)


def test_records_reach_the_producer_while_the_rest_of_the_batch_is_still_being_judged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broker, expected = _broker(250, partitions=1)
    judged = [0]
    route = Router.route

    def counting_route(self: Router, batch: list[InRecord]) -> RoutedBatch:
        judged[0] += len(batch)
        return route(self, batch)

    monkeypatch.setattr(Router, "route", counting_route)
    pipe = _TimelinePipe(broker, judged)
    settings = _settings(batch={"max_records": 250, "poll_timeout_ms": 1})
    build_service(
        settings,
        load_registry(SCHEMAS),
        pipe_factory=lambda: pipe,
        describe_targets=pipe.broker.describe_topics,
    ).run(idle_timeout=0)
    # One transaction of 250 records, sent in slices: the first ones went out after 100 had
    # been judged, long before the last was.
    assert len(pipe.sends_after) == 250 and pipe.sends_after[0] == 100
    assert sorted(set(pipe.sends_after)) == [100, 200, 250]
    assert _outcome(broker) == Counter({(k, r): 1 for k, r in expected.items()})
