"""Service metrics: what is counted, and the HTTP endpoints that serve them."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import Gauge

from guard.config.settings import GuardSettings
from guard.contracts import load_registry
from guard.service import build_service
from guard.service.health import Health
from guard.service.metrics import MetricsServer, ServiceMetrics, listen_error
from guard.service.probe import ServiceProbe
from guard.transport.memory import MemoryBroker, MemoryPipe
from guard.validation.reasons import Reason
from tests.fixtures.paths import SCHEMAS

GOOD = json.dumps(
    {
        "order_id": "0b6f4f52-3c7b-4a43-9c49-8d5a3b1e2f10",
        "customer_email": "a@example.com",
        "amount": 10.5,
        "currency": "EUR",
        "quantity": 1,
        "created_at": "2026-11-21T09:15:00Z",
    }
).encode()
# Three reason codes in one record: a wrong type, a bad enum value, and missing fields.
THREE_REASONS = json.dumps({"order_id": 5, "currency": "XXX", "amount": 1}).encode()


def _run(broker: MemoryBroker, pipe: MemoryPipe | None = None) -> ServiceMetrics:
    settings = GuardSettings(
        topics={"orders": {"subject": "orders"}},  # type: ignore[dict-item]
        batch={"max_records": 10, "poll_timeout_ms": 1},  # type: ignore[arg-type]
        retry={"initial_backoff_ms": 1, "max_backoff_ms": 2, "max_attempts": 5},  # type: ignore[arg-type]
    )
    metrics = ServiceMetrics()
    probe = ServiceProbe(metrics, Health(60, 30), {"orders": "orders"}, 0.001, 0)
    pipe = pipe or MemoryPipe(broker, "g")
    build_service(
        settings,
        load_registry(SCHEMAS),
        pipe_factory=lambda: pipe,
        describe_targets=pipe.broker.describe_topics,
        probe=probe,
    ).run(idle_timeout=0)
    return metrics


def _broker(good: int, bad: int) -> MemoryBroker:
    broker = MemoryBroker()
    broker.create("orders", 2)
    for i in range(good):
        broker.produce("orders", GOOD, f"g{i}".encode(), partition=i % 2)
    for i in range(bad):
        broker.produce("orders", THREE_REASONS, f"b{i}".encode(), partition=i % 2)
    return broker


def _value(m: ServiceMetrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def test_records_are_counted_once_each_by_topic_subject_and_outcome() -> None:
    m = _run(_broker(good=7, bad=5))
    labels = {"topic": "orders", "subject": "orders"}
    assert _value(m, "guard_records_total", outcome="valid", **labels) == 7
    assert _value(m, "guard_records_total", outcome="quarantined", **labels) == 5


def test_quarantine_reasons_are_counted_apart_one_record_carrying_several() -> None:
    m = _run(_broker(good=0, bad=5))
    labels = {"topic": "orders", "subject": "orders"}
    reasons = {
        r: _value(m, "guard_quarantine_reasons_total", reason=r, **labels)
        for r in ("wrong_type", "not_in_enum", "missing_field")
    }
    assert reasons == {"wrong_type": 5, "not_in_enum": 5, "missing_field": 5}
    assert _value(m, "guard_records_total", outcome="quarantined", **labels) == 5


def test_retries_and_aborts_are_counted() -> None:
    broker = _broker(good=3, bad=0)
    pipe = MemoryPipe(broker, "g")
    pipe.fail_next_commits = 2
    m = _run(broker, pipe)
    assert _value(m, "guard_retries_total", client="kafka-python") == 2
    assert _value(m, "guard_transaction_aborts_total", client="kafka-python") == 2
    assert _value(m, "guard_records_total", topic="orders", subject="orders", outcome="valid") == 3


def test_latencies_and_last_commit_time_are_recorded_per_batch() -> None:
    m = _run(_broker(good=25, bad=0))  # 3 batches of at most 10
    assert _value(m, "guard_batch_duration_seconds_count") == 3
    assert _value(m, "guard_commit_duration_seconds_count") == 3
    last = _value(m, "guard_last_commit_timestamp_seconds")
    assert last is not None and last > 1.7e9


def test_end_to_end_latency_skips_records_without_a_timestamp() -> None:
    broker = _broker(good=4, bad=0)  # the memory broker stamps records with 0: no timestamp
    assert _value(_run(broker), "guard_end_to_end_latency_seconds_count") == 0


def test_consumer_lag_is_exported_per_partition() -> None:
    m = ServiceMetrics()
    m.lag_read({("orders", 0): 5, ("orders", 1): 0})
    assert _value(m, "guard_consumer_lag_records", topic="orders", partition="0") == 5
    m.lag_read({("orders", 1): 2})  # partition 0 was revoked
    assert _value(m, "guard_consumer_lag_records", topic="orders", partition="0") is None


def test_process_collectors_are_registered() -> None:
    names = {mf.name for mf in ServiceMetrics().registry.collect()}
    assert {"process_cpu_seconds", "python_info", "python_gc_objects_collected"} <= names


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture
def server() -> tuple[MetricsServer, ServiceMetrics, Health]:
    metrics, health = ServiceMetrics(), Health(60, 30)
    srv = MetricsServer("127.0.0.1", 0, metrics.registry, health).start()
    yield srv, metrics, health  # type: ignore[misc]
    srv.close()


def test_metrics_endpoint_serves_the_exposition_and_other_paths_are_404(
    server: tuple[MetricsServer, ServiceMetrics, Health],
) -> None:
    srv, metrics, _ = server
    metrics.retries.inc(3)
    code, body = _get(f"http://127.0.0.1:{srv.port}/metrics")
    assert code == 200 and b'guard_retries_total{client="kafka-python"} 3.0' in body
    assert _get(f"http://127.0.0.1:{srv.port}/")[0] == 404


def test_readyz_fails_until_partitions_are_assigned_and_healthz_passes_at_start(
    server: tuple[MetricsServer, ServiceMetrics, Health],
) -> None:
    srv, _, health = server
    assert _get(f"http://127.0.0.1:{srv.port}/healthz")[0] == 200
    code, body = _get(f"http://127.0.0.1:{srv.port}/readyz")
    assert code == 503 and json.loads(body)["partitions_assigned"] is False
    health.assignment(True)
    health.lag_read(0)
    health.idle_poll()
    assert _get(f"http://127.0.0.1:{srv.port}/readyz")[0] == 200


def test_head_requests_get_the_get_status_and_headers_without_a_body(
    server: tuple[MetricsServer, ServiceMetrics, Health],
) -> None:
    srv, _, _ = server
    for path, status in (("/metrics", 200), ("/healthz", 200), ("/readyz", 503), ("/x", 404)):
        request = urllib.request.Request(f"http://127.0.0.1:{srv.port}{path}", method="HEAD")
        get = _get(f"http://127.0.0.1:{srv.port}{path}")
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                code, headers, body = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as err:
            code, headers, body = err.code, err.headers, err.read()
        assert code == status == get[0], path
        # The length of what a GET would send (it varies between two requests: times).
        assert body == b"" and int(headers["Content-Length"]) > 0, path


def test_health_and_readiness_are_exported_as_gauges_for_alert_rules() -> None:
    clock = [0.0]
    metrics, health = ServiceMetrics(), Health(60, 30, clock=lambda: clock[0])
    srv = MetricsServer("127.0.0.1", 0, metrics.registry, health).start()
    try:
        assert _value(metrics, "guard_healthy") == 1 and _value(metrics, "guard_ready") == 0
        health.assignment(True)
        health.committed()
        assert _value(metrics, "guard_ready") == 1
        clock[0] = 61.0  # no progress for longer than stall_seconds
        assert _value(metrics, "guard_healthy") == 0 and _value(metrics, "guard_ready") == 0
    finally:
        srv.close()


def test_end_to_end_latency_buckets_count_values_at_or_below_each_bound() -> None:
    m = ServiceMetrics()
    m.e2e_seconds.observe_many([0.005, 0.01, 0.3, 5000.0])
    name = "guard_end_to_end_latency_seconds"
    assert _value(m, f"{name}_bucket", le="0.01") == 2
    assert _value(m, f"{name}_bucket", le="0.5") == 3
    assert _value(m, f"{name}_bucket", le="3600.0") == 3
    assert _value(m, f"{name}_bucket", le="+Inf") == 4
    assert _value(m, f"{name}_count") == 4
    assert _value(m, f"{name}_sum") == 5000.315


# Half a millisecond past a whole one: no stamp's age lands exactly on a bucket bound, where
# the two computations may round either way.
@given(
    st.lists(st.integers(-1, 1_700_000_010_000), max_size=60),
    st.integers(1_700_000_000_000, 1_700_000_005_000),
)
def test_ages_from_sorted_stamps_fill_the_buckets_as_one_observation_per_record_does(
    stamps: list[int], now_ms: int
) -> None:
    now = (now_ms + 0.5) / 1000
    by_record, by_bisect = ServiceMetrics(), ServiceMetrics()
    by_record.e2e_seconds.observe_many([max(now - ms / 1000, 0.0) for ms in stamps if ms > 0])
    by_bisect.e2e_seconds.observe_ages(now, stamps)
    expected, got = by_record.e2e_seconds, by_bisect.e2e_seconds
    assert got._counts == expected._counts
    assert math.isclose(got._sum, expected._sum, rel_tol=1e-12, abs_tol=1e-6)


def test_record_and_rejoin_counters_are_scraped_at_zero_before_their_first_increment() -> None:
    """rate() and increase() see no rise in a series that first appears at its first batch's
    count: a topic's first quarantined burst (or a first rejoin) must rise from a 0 scraped
    before it."""
    metrics = ServiceMetrics(client="confluent")
    ServiceProbe(metrics, Health(60, 30), {"orders": "orders-subject"}, 10, 0)
    labels = {"topic": "orders", "subject": "orders-subject"}
    assert _value(metrics, "guard_records_total", outcome="valid", **labels) == 0
    assert _value(metrics, "guard_records_total", outcome="quarantined", **labels) == 0
    for cause in ("fenced", "stalled"):
        assert _value(metrics, "guard_rejoins_total", client="confluent", cause=cause) == 0


def test_every_quarantine_reason_is_scraped_at_zero_before_its_first_record() -> None:
    """The reasons panel is rate(guard_quarantine_reasons_total): a reason's first burst
    must rise from a 0 scraped before it, not appear at its count."""
    metrics = ServiceMetrics()
    ServiceProbe(metrics, Health(60, 30), {"orders": "orders"}, 10, 0)
    for reason in Reason:
        labels = {"topic": "orders", "subject": "orders", "reason": reason.value}
        assert _value(metrics, "guard_quarantine_reasons_total", **labels) == 0, reason


def test_a_scrape_during_a_lag_read_sees_every_partition_still_owned() -> None:
    """The lag gauge is updated in place: a scrape from the HTTP thread while the loop
    writes a new read sees each partition still owned (old or new value), never a gap
    (which Prometheus would record as a stale series, resetting `for:` in alert rules)."""
    metrics = ServiceMetrics()
    metrics.lag_read({("orders", 0): 5, ("orders", 1): 7, ("orders", 2): 1})
    seen: list[set[str]] = []
    labels = metrics.lag.labels

    def scraping_labels(*values: str) -> Gauge:
        seen.append({s.labels["partition"] for f in metrics.lag.collect() for s in f.samples})
        return labels(*values)

    metrics.lag.labels = scraping_labels  # type: ignore[method-assign]
    metrics.lag_read({("orders", 0): 4, ("orders", 1): 9})  # partition 2 revoked
    assert seen and all({"0", "1"} <= partitions for partitions in seen), seen
    assert _value(metrics, "guard_consumer_lag_records", topic="orders", partition="2") is None
    assert _value(metrics, "guard_consumer_lag_records", topic="orders", partition="1") == 9


def test_the_metrics_server_listens_on_an_ipv6_host() -> None:
    """`metrics.host: "::"` (every interface on an IPv6 cluster) or `::1`: config check finds
    the port free, so `guard run` must listen there too, not exit 2."""
    if listen_error("::1", 0) is not None:
        pytest.skip("no IPv6 loopback here")
    server = MetricsServer("::1", 0, ServiceMetrics().registry, Health(60, 30)).start()
    try:
        with urllib.request.urlopen(f"http://[::1]:{server.port}/healthz", timeout=5) as r:
            assert r.status == 200
    finally:
        server.close()
