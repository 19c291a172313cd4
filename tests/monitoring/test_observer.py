"""The monitor in the service loop (in-memory pipe): windows, alerts, exactly-once staging."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import structlog

from guard.config.settings import GuardSettings
from guard.contracts.registry import Registry
from guard.errors import ConfigError
from guard.monitoring.baseline import baseline_files
from guard.monitoring.observer import MonitoringObserver
from guard.routing.router import RoutedBatch
from guard.service import BatchObserver, build_service
from guard.transport.base import OutRecord
from guard.transport.memory import MemoryBroker, MemoryPipe
from tests.monitoring.conftest import MakeSettings
from tests.monitoring.streams import DRIFTS, stream

N, WINDOW, LEARN, DRIFT_AT = 6000, 1000, 2, 4500
T0 = 1_700_000_000_000

# What each synthetic drift must be reported as: (field, statistic).
EXPECTED = {
    "null_rate": ("note", "null_rate_abs"),
    "new_category": ("country", "new_category"),
    "new_field": ("promo", "new_field"),
    "amount_shift": ("amount", "psi"),
    "qty_type": ("qty", "type_change"),
}


def _broker(values: list[bytes]) -> MemoryBroker:
    broker = MemoryBroker()
    broker.create("events", 1)  # one partition: the drift point is a point in time
    for i, v in enumerate(values):
        broker.append(OutRecord("events", str(i).encode(), v, [], T0 + i * 10, 0))
    return broker


def _run(
    settings: GuardSettings, registry: Registry, broker: MemoryBroker, **kw: Any
) -> tuple[MonitoringObserver, MemoryPipe]:
    observer = MonitoringObserver(settings, registry, **kw)
    pipe = MemoryPipe(broker, "g")
    _serve(settings, registry, pipe, [observer])
    return observer, pipe


def _serve(
    settings: GuardSettings,
    registry: Registry,
    pipe: MemoryPipe,
    observers: list[BatchObserver],
    idle_timeout: float = 0,
) -> None:
    """The service as production wires it, over the in-memory pipe, until it idles."""
    build_service(
        settings,
        registry,
        pipe_factory=lambda: pipe,
        observers=observers,
        describe_targets=pipe.broker.describe_topics,
    ).run(idle_timeout=idle_timeout)


def _events(broker: MemoryBroker, topic: str = "guard.drift") -> list[dict[str, Any]]:
    """The topic's records; on the profiles topic, the profiles (not window summaries)."""
    return [
        json.loads(r.value or b"")
        for r in broker.records(topic)
        if dict(r.headers).get("guard.event") != b"history"
    ]


def _window_index(event: dict[str, Any]) -> int:
    """0-based window of the stream an alert belongs to (by its first record's timestamp)."""
    return (event["window"]["first_timestamp_ms"] - T0) // 10 // WINDOW


@pytest.mark.parametrize("drift", DRIFTS)
def test_drift_at_a_known_point_alerts_within_one_window_after_it(
    drift: str, make_settings: MakeSettings, registry: Registry
) -> None:
    broker = _broker(stream(N, seed=1, drift=drift, drift_at=DRIFT_AT))
    _run(make_settings(), registry, broker)
    events = _events(broker)
    drift_window = DRIFT_AT // WINDOW
    assert events, "the drift raised an alert"
    assert min(_window_index(e) for e in events) >= drift_window, "none before the drift"
    field, statistic = EXPECTED[drift]
    named = [e for e in events if (e["field"], e["statistic"]) == (field, statistic)]
    assert named, (
        f"an alert names {field}/{statistic}; got {[(e['field'], e['statistic']) for e in events]}"
    )
    assert min(_window_index(e) for e in named) <= drift_window + 1


def test_a_stable_stream_of_the_same_size_raises_no_alert(
    make_settings: MakeSettings, registry: Registry
) -> None:
    broker = _broker(stream(N, seed=1))
    _run(make_settings(), registry, broker)
    assert _events(broker) == []
    finals = [e for e in _events(broker, "guard.profiles") if e["window"]["final"]]
    assert len(finals) == N // WINDOW, "every window was still profiled and published"


def test_every_alert_names_subject_field_statistic_values_threshold_and_window(
    make_settings: MakeSettings, registry: Registry
) -> None:
    broker = _broker(stream(N, seed=1, drift="null_rate", drift_at=DRIFT_AT))
    _run(make_settings(), registry, broker)
    event = _events(broker)[0]
    assert event["subject"] == "events" and event["field"] == "note"
    assert event["statistic"] == "null_rate_abs" and event["threshold"] == 0.05
    assert 0 <= event["p_value"] < event["significance_level"] < 0.05
    assert event["baseline_value"] < 0.05 < event["current_value"]
    assert {"id", "instance", "started_at", "ended_at", "records"} <= set(event["window"])
    assert event["window"]["records"] == WINDOW and event["window"]["instance"] == "test-instance"
    assert event["baseline"]["source"]["kind"] == "learned"


def test_count_windows_close_exactly_at_their_limit_inside_a_batch(
    make_settings: MakeSettings, registry: Registry
) -> None:
    settings = make_settings(top={"batch": {"max_records": 333, "poll_timeout_ms": 1}})
    broker = _broker(stream(2500, seed=2))
    _run(settings, registry, broker)
    finals = [e for e in _events(broker, "guard.profiles") if e["window"]["final"]]
    assert [e["records"] for e in finals] == [1000, 1000]


def test_a_time_window_closes_when_a_batch_arrives_after_its_age(
    make_settings: MakeSettings, registry: Registry
) -> None:
    now = [1000.0]

    def clock() -> float:
        now[0] += 4.0  # every batch is 4 seconds after the last
        return now[0]

    settings = make_settings(windows={"records": None, "seconds": 10})
    broker = _broker(stream(2500, seed=2))
    _run(settings, registry, broker, clock=clock)
    finals = [e for e in _events(broker, "guard.profiles") if e["window"]["final"]]
    assert finals and all(e["records"] == 750 for e in finals)  # 3 batches of 250 per window


def test_a_time_window_closes_on_time_when_the_stream_goes_quiet(
    make_settings: MakeSettings, registry: Registry
) -> None:
    """No batch arrives after the last records: idle polls still close the window."""
    now = [1000.0]

    def clock() -> float:
        now[0] += 4.0
        return now[0]

    settings = make_settings(windows={"records": None, "seconds": 10})
    broker = _broker(stream(300, seed=2))
    observer = MonitoringObserver(settings, registry, clock=clock)
    _serve(settings, registry, MemoryPipe(broker, "g"), [observer], idle_timeout=0.2)
    finals = [e for e in _events(broker, "guard.profiles") if e["window"]["final"]]
    assert [e["records"] for e in finals] == [300]


class _FailSomeCommits:
    """An observer that makes the commit of chosen batches fail once (mid-window)."""

    def __init__(self, pipe: MemoryPipe, batches: set[int]) -> None:
        self.pipe, self.batches, self.seen = pipe, set(batches), 0

    def before_commit(self, routed: RoutedBatch) -> list[OutRecord]:
        self.seen += 1
        if self.seen in self.batches:
            self.batches.discard(self.seen)
            self.pipe.fail_next_commits = 1
        return []

    def after_commit(self) -> None:
        pass

    def after_abort(self) -> None:
        self.seen -= 1  # the batch comes again


def test_profiles_and_alerts_are_produced_once_when_commits_fail_and_are_retried(
    make_settings: MakeSettings, registry: Registry
) -> None:
    values = stream(N, seed=1, drift="null_rate", drift_at=DRIFT_AT)
    clean = _broker(values)
    clean_observer, _ = _run(make_settings(snapshot_seconds=0), registry, clean)
    broker = _broker(values)
    observer = MonitoringObserver(make_settings(snapshot_seconds=0), registry)
    pipe = MemoryPipe(broker, "g")
    failing = _FailSomeCommits(pipe, {2, 3, 7, 11, 18, 23})
    _serve(make_settings(), registry, pipe, [observer, failing])
    assert not failing.batches, "every injected failure happened"

    def comparable(topic: str, drop: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{k: v for k, v in e.items() if k not in drop} for e in _events(broker, topic)]

    def expected(topic: str, drop: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{k: v for k, v in e.items() if k not in drop} for e in _events(clean, topic)]

    drop = ("detected_at", "window", "baseline")
    assert comparable("guard.drift", drop) == expected("guard.drift", drop)
    assert [
        (e["records"], e["reasons"], e["fields"]["note"]["nulls"])
        for e in _events(broker, "guard.profiles")
    ] == [
        (e["records"], e["reasons"], e["fields"]["note"]["nulls"])
        for e in _events(clean, "guard.profiles")
    ]
    reg, clean_reg = observer.metrics.registry, clean_observer.metrics.registry
    name = "guard_windows_total"  # records are counted by the service (tests/service)
    assert (
        reg.get_sample_value(name, {"subject": "events"})
        == clean_reg.get_sample_value(name, {"subject": "events"})
        > 0
    )


def test_open_window_snapshots_republish_under_the_window_key(
    make_settings: MakeSettings, registry: Registry
) -> None:
    settings = make_settings(snapshot_seconds=0, windows={"records": 10_000, "seconds": None})
    broker = _broker(stream(1000, seed=3))
    _run(settings, registry, broker)
    records = [r for r in broker.records("guard.profiles") if r.key.startswith(b"events/")]
    assert len(records) == 4 and len({r.key for r in records}) == 1  # 4 batches, one window
    last = json.loads(records[-1].value or b"")
    assert last["records"] == 1000 and last["window"]["final"] is False


def test_a_learned_baseline_is_saved_in_the_state_dir_never_in_schemas_and_used_next_time(
    make_settings: MakeSettings, registry: Registry, schemas: Path
) -> None:
    settings = make_settings(baseline={"source": "auto", "learn_windows": 2, "save": True})
    _run(settings, registry, _broker(stream(3000, seed=4)))
    assert list(baseline_files(schemas, "events")) == []
    assert list(baseline_files(settings.state_dir / "baselines", "events")) == [1]
    again = MonitoringObserver(settings, registry)
    baseline = again.baseline("events")
    assert baseline is not None and baseline.version == 1 and baseline.profile.records == 2000


def test_file_baseline_source_without_a_file_is_a_config_error(
    make_settings: MakeSettings, registry: Registry
) -> None:
    with pytest.raises(ConfigError, match="guard baseline build"):
        MonitoringObserver(make_settings(baseline={"source": "file"}), registry)


def test_metrics_count_windows_alerts_and_field_ratios(
    make_settings: MakeSettings, registry: Registry
) -> None:
    values = stream(N, seed=1, drift="null_rate", drift_at=DRIFT_AT)
    values[10] = b"{broken"
    observer, _ = _run(make_settings(), registry, _broker(values))
    reg = observer.metrics.registry
    assert reg.get_sample_value("guard_windows_total", {"subject": "events"}) == N // WINDOW
    assert (
        reg.get_sample_value(
            "guard_drift_alerts_total", {"subject": "events", "statistic": "null_rate_abs"}
        )
        == 2
    )
    null_rate = reg.get_sample_value(
        "guard_field_null_ratio", {"subject": "events", "field": "note"}
    )
    assert null_rate is not None and null_rate > 0.3


def test_alert_logs_and_metrics_carry_no_category_values(
    make_settings: MakeSettings, registry: Registry
) -> None:
    from prometheus_client import generate_latest
    from structlog.testing import capture_logs

    broker = _broker(stream(N, seed=1, drift="new_category", drift_at=DRIFT_AT))
    with capture_logs() as logs:
        observer, _ = _run(make_settings(), registry, broker)
    alerts = [e for e in logs if e["event"] == "drift alert"]
    assert alerts and {e["statistic"] for e in alerts} >= {"new_category"}
    assert "PL" not in json.dumps(logs, default=str)
    assert b"PL" not in generate_latest(observer.metrics.registry)
    assert all("PL" not in json.dumps(e["detail"]) for e in _events(broker))


@contextmanager
def _info_logs() -> Iterator[list[dict[str, Any]]]:
    """Every line from INFO up, captured: another test in this process may have configured
    logging at WARNING, whose filtering logger would drop the INFO lines before capture."""
    from structlog.testing import capture_logs

    before = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(**before)


def test_logs_name_no_undeclared_field_unless_expose_values_is_set(
    make_settings: MakeSettings, registry: Registry
) -> None:
    """`promo` is a key the producer chose (undeclared): the log counts it, and its alert
    line says it was undeclared; the drift topic's event (data) still names it."""
    broker = _broker(stream(N, seed=1, drift="new_field", drift_at=DRIFT_AT))
    with _info_logs() as logs:
        _run(make_settings(), registry, broker)
    assert "promo" not in json.dumps(logs, default=str)
    windows = [e for e in logs if e["event"] == "window profiled"]
    assert max(e["unknown_fields"] for e in windows) == 1
    alerts = [e for e in logs if e["event"] == "drift alert" and e["statistic"] == "new_field"]
    assert alerts and {e["field"] for e in alerts} == {"(undeclared)"}
    assert any(e["field"] == "promo" for e in _events(broker))


def test_logs_name_undeclared_fields_when_expose_values_is_set(
    make_settings: MakeSettings, registry: Registry
) -> None:
    broker = _broker(stream(N, seed=1, drift="new_field", drift_at=DRIFT_AT))
    with _info_logs() as logs:
        _run(make_settings(top={"expose_values": True}), registry, broker)
    windows = [e for e in logs if e["event"] == "window profiled"]
    assert ["promo"] in [e["unknown_field_names"] for e in windows]
    alerts = [e for e in logs if e["event"] == "drift alert" and e["statistic"] == "new_field"]
    assert alerts and {e["field"] for e in alerts} == {"promo"}


def test_one_record_stamped_days_early_raises_no_volume_alert(
    make_settings: MakeSettings, registry: Registry
) -> None:
    """The reviewer's reproduction: a stable stream at 100 records/s in which one record
    carries a timestamp 3 days earlier (event time, or `guard replay --to-source`)."""
    broker = MemoryBroker()
    broker.create("events", 1)
    for i, v in enumerate(stream(N, seed=1)):
        ts = T0 + i * 10 - (3 * 24 * 3600 * 1000 if i == 3500 else 0)
        broker.append(OutRecord("events", str(i).encode(), v, [], ts, 0))
    _run(make_settings(), registry, broker)
    assert _events(broker) == []


def test_a_window_holding_one_record_of_a_second_partition_is_checked(
    make_settings: MakeSettings, registry: Registry
) -> None:
    """One record of 3,000 comes from partition 1: the window holding it used to stop the
    service with a ValueError from the timestamp sketch when it was checked."""
    broker = MemoryBroker()
    broker.create("events", 2)
    for i, v in enumerate(stream(3000, seed=1)):
        broker.append(OutRecord("events", str(i).encode(), v, [], T0 + i * 10, int(i == 2500)))
    observer, _pipe = _run(make_settings(), registry, broker)
    assert observer.baseline("events") is not None
    assert len([p for p in _events(broker, "guard.profiles") if p["window"]["final"]]) == 3
    assert _events(broker) == []


def test_alert_hashes_are_keyed_with_the_configured_secret() -> None:
    import hashlib

    from guard.monitoring import alerts

    try:
        alerts.set_value_hash_key(b"key-one")
        one = alerts.value_hash("EUR")
        alerts.set_value_hash_key(b"key-two")
        two = alerts.value_hash("EUR")
    finally:
        alerts.set_value_hash_key(b"reset")
    assert one != two
    assert hashlib.sha256(b"EUR").hexdigest()[:16] not in (one, two)  # not an unkeyed hash


def test_the_observer_takes_the_hash_key_from_the_settings(
    make_settings: MakeSettings, registry: Registry
) -> None:
    from guard.monitoring import alerts

    MonitoringObserver(make_settings(value_hash_key="k1"), registry)
    first = alerts.value_hash("PL")
    MonitoringObserver(make_settings(value_hash_key="k1"), registry)
    assert alerts.value_hash("PL") == first
    MonitoringObserver(make_settings(value_hash_key="k2"), registry)
    assert alerts.value_hash("PL") != first


def test_a_fault_in_the_monitor_leaves_the_batch_flowing_unprofiled_and_says_so(
    make_settings: MakeSettings, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from structlog.testing import capture_logs

    from guard.monitoring.profile import WindowProfile

    real_add, calls = WindowProfile.add, []

    def add(self: WindowProfile, plan: Any, items: Any) -> None:
        calls.append(len(items))
        if len(calls) == 3:  # one batch's profiling fails, quoting a value as errors may
            raise ValueError("secret-value-PL")
        real_add(self, plan, items)

    monkeypatch.setattr(WindowProfile, "add", add)
    broker = _broker(stream(N, seed=1))
    with capture_logs() as logs:
        observer, _ = _run(make_settings(), registry, broker)
    routed = broker.records("events.valid") + broker.records("events.quarantine")
    assert len(routed) == N  # every record went on, the faulty batch's too
    failed = [e for e in logs if e["event"].startswith("monitor failed")]
    assert [(e["subject"], e["records"], e["error"]) for e in failed] == [
        ("events", calls[2], "ValueError")
    ]
    assert "secret-value-PL" not in json.dumps(logs, default=str)
    reg = observer.metrics.registry
    assert reg.get_sample_value("guard_monitor_errors_total", {"subject": "events"}) == 1
    # The monitor went on: its windows hold every record but the failed batch's.
    assert reg.get_sample_value("guard_windows_total", {"subject": "events"}) == (
        (N - calls[2]) // WINDOW
    )


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _learned_then_quiet(
    make_settings: MakeSettings, registry: Registry
) -> tuple[MonitoringObserver, _Clock]:
    """A baseline learned from a stream of 100 records/s on events/0, then the stream stops
    (the observer's clock stands still while the records are read)."""
    clock = _Clock()
    windows = {"records": WINDOW, "seconds": None, "silence_seconds": 300}
    observer, _ = _run(
        make_settings(windows=windows), registry, _broker(stream(N, seed=1)), clock=clock
    )
    return observer, clock


def _idle_turn(observer: MonitoringObserver, owned: set[tuple[str, int]]) -> list[OutRecord]:
    from guard.routing.router import RoutingStats

    out = observer.before_commit(RoutedBatch([], {}, RoutingStats(), [], owned=frozenset(owned)))
    observer.after_commit()
    return out


def _volume_alerts(records: list[OutRecord]) -> list[dict[str, Any]]:
    events = [json.loads(r.value or b"") for r in records if r.topic == "guard.drift"]
    return [e for e in events if e["statistic"] == "volume"]


def test_a_source_partition_silent_past_silence_seconds_raises_one_volume_alert(
    make_settings: MakeSettings, registry: Registry
) -> None:
    observer, clock = _learned_then_quiet(make_settings, registry)
    assert _idle_turn(observer, {("events", 0)}) == []  # just gone quiet
    clock.now += 299
    assert _volume_alerts(_idle_turn(observer, {("events", 0)})) == []
    clock.now += 2
    [alert] = _volume_alerts(_idle_turn(observer, {("events", 0)}))
    assert alert["current_value"] == 0.0 and alert["baseline_value"] == pytest.approx(100, 0.1)
    assert alert["detail"]["partitions"] == ["events/0"]
    assert alert["detail"]["silent_seconds"] == 301.0
    assert alert["p_value"] < alert["significance_level"]
    clock.now += 3600  # the same silence is alerted once
    assert _volume_alerts(_idle_turn(observer, {("events", 0)})) == []
    reg = observer.metrics.registry
    labels = {"subject": "events", "statistic": "volume"}
    assert reg.get_sample_value("guard_drift_alerts_total", labels) == 1


def test_a_partition_taken_over_in_a_rebalance_expects_only_what_the_baseline_had_on_it(
    make_settings: MakeSettings, registry: Registry
) -> None:
    # events/1 gave the baseline nothing (quiet by nature); events/0, kept, goes on timing.
    observer, clock = _learned_then_quiet(make_settings, registry)
    assert _idle_turn(observer, {("events", 0), ("events", 1)}) == []
    clock.now += 3600
    [alert] = _volume_alerts(_idle_turn(observer, {("events", 0), ("events", 1)}))
    assert alert["detail"]["partitions"] == ["events/0"]
    assert alert["detail"]["silent_seconds"] == 3600.0


def test_a_silent_partition_lost_in_a_rebalance_is_no_longer_watched(
    make_settings: MakeSettings, registry: Registry
) -> None:
    observer, clock = _learned_then_quiet(make_settings, registry)
    assert _idle_turn(observer, {("events", 1)}) == []
    clock.now += 3600
    assert _volume_alerts(_idle_turn(observer, {("events", 1)})) == []


def test_a_source_dead_before_a_restart_is_found_from_the_restart(
    make_settings: MakeSettings, registry: Registry
) -> None:
    learned, clock = _learned_then_quiet(make_settings, registry)
    windows = {"records": WINDOW, "seconds": None, "silence_seconds": 300}
    restarted = MonitoringObserver(
        make_settings(windows=windows),
        registry,
        clock=clock,
        baselines={"events": learned.baseline("events")},
    )
    clock.now += 5000  # down a long while; after the restart no record comes
    assert _idle_turn(restarted, {("events", 0)}) == []  # its clock starts at the takeover
    clock.now += 301
    [alert] = _volume_alerts(_idle_turn(restarted, {("events", 0)}))
    assert alert["detail"]["silent_seconds"] == 301.0


def test_a_silent_partition_is_found_while_another_owned_one_flows(
    make_settings: MakeSettings, registry: Registry
) -> None:
    from guard.routing.router import RoutingStats
    from guard.transport.base import InRecord
    from guard.validation.validator import Verdict

    observer, clock = _learned_then_quiet(make_settings, registry)
    owned = frozenset({("events", 0), ("events", 1)})
    record = InRecord("events", 1, 0, T0, b"k", b"{}", [])
    flowing = [(record, Verdict(True, "events", 1, (1,), record={}))]
    out: list[OutRecord] = []
    for _ in range(4):  # events/1 gives a record every 100 s; events/0 none
        clock.now += 100
        out += observer.before_commit(RoutedBatch([], {}, RoutingStats(), flowing, owned=owned))
        observer.after_commit()
    [alert] = _volume_alerts(out)
    assert alert["detail"]["partitions"] == ["events/0"]


def test_an_instance_owning_no_partition_of_the_subject_raises_no_silence_alert(
    make_settings: MakeSettings, registry: Registry
) -> None:
    observer, clock = _learned_then_quiet(make_settings, registry)
    assert _idle_turn(observer, {("other", 0)}) == []
    clock.now += 3600
    assert _volume_alerts(_idle_turn(observer, {("other", 0)})) == []


def test_silence_is_not_watched_unless_silence_seconds_is_set(
    make_settings: MakeSettings, registry: Registry
) -> None:
    clock = _Clock()
    observer, _ = _run(make_settings(), registry, _broker(stream(N, seed=1)), clock=clock)
    clock.now += 86_400
    assert _volume_alerts(_idle_turn(observer, {("events", 0)})) == []


def test_records_the_monitor_failed_to_profile_still_end_a_silence(
    make_settings: MakeSettings, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fault profiling a batch loses its profile, not the fact that records came: the
    # source is flowing, so no silence alert may follow.
    from guard.monitoring.profile import WindowProfile
    from guard.routing.router import RoutingStats
    from guard.transport.base import InRecord
    from guard.validation.validator import Verdict

    observer, clock = _learned_then_quiet(make_settings, registry)
    owned = frozenset({("events", 0)})
    rec = InRecord("events", 0, 0, T0, b"k", b"{}", [])
    verdict = Verdict(True, "events", 1, (1,), record={})

    def boom(self: WindowProfile, plan: Any, items: Any) -> None:
        raise ValueError("a fault in the monitor")

    monkeypatch.setattr(WindowProfile, "add", boom)
    for _ in range(4):  # a record every 100 s, each batch failing in the monitor
        clock.now += 100
        observer.before_commit(RoutedBatch([], {}, RoutingStats(), [(rec, verdict)], owned=owned))
        observer.after_commit()
    clock.now += 10  # an idle turn 10 s after the last record
    assert _volume_alerts(_idle_turn(observer, set(owned))) == []


def test_a_batch_the_monitor_failed_on_is_counted_once_when_its_transaction_is_retried(
    make_settings: MakeSettings, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Metrics count what was committed (after_commit), as every other monitor metric does.
    from guard.monitoring.profile import WindowProfile
    from guard.routing.router import RoutingStats
    from guard.transport.base import InRecord
    from guard.validation.validator import Verdict

    def boom(self: WindowProfile, plan: Any, items: Any) -> None:
        raise ValueError("a fault in the monitor")

    monkeypatch.setattr(WindowProfile, "add", boom)
    observer = MonitoringObserver(make_settings(), registry)
    rec = InRecord("events", 0, 0, T0, b"k", b"{}", [])
    batch = RoutedBatch(
        [], {}, RoutingStats(), [(rec, Verdict(True, "events", 1, (1,), record={}))]
    )
    observer.before_commit(batch)
    observer.after_abort()  # the transaction failed: the batch comes again
    observer.before_commit(batch)
    observer.after_commit()
    reg = observer.metrics.registry
    assert reg.get_sample_value("guard_monitor_errors_total", {"subject": "events"}) == 1


_SPARSE_GAP_MS = 83_000  # one record every 83 s on events/0: 0.012 records/s


def _sparse_observer(
    make_settings: MakeSettings, registry: Registry
) -> tuple[MonitoringObserver, _Clock, Any]:
    """A baseline learned from a sparse source (3.6 records expected in 300 s), and a turn
    function feeding it records (each with the stream's first value) at the given times."""
    from guard.routing.router import RoutingStats
    from guard.transport.base import InRecord
    from guard.validation.validator import Verdict

    broker = MemoryBroker()
    broker.create("events", 1)
    values = stream(2 * WINDOW, seed=1)
    for i, v in enumerate(values):
        broker.append(OutRecord("events", str(i).encode(), v, [], T0 + i * _SPARSE_GAP_MS, 0))
    clock = _Clock()
    windows = {"records": WINDOW, "seconds": None, "silence_seconds": 300}
    settings = make_settings(windows=windows)
    observer = MonitoringObserver(settings, registry, clock=clock)
    _serve(settings, registry, MemoryPipe(broker, "g"), [observer])
    assert observer.baseline("events") is not None
    record = json.loads(values[0])

    def turn(stamps: list[float]) -> int:
        verdicts = [
            (
                InRecord("events", 0, 0, int(t * 1000), b"k", values[0], []),
                Verdict(True, "events", 1, (1,), record=record),
            )
            for t in stamps
        ]
        batch = RoutedBatch([], {}, RoutingStats(), verdicts, owned=frozenset({("events", 0)}))
        out = observer.before_commit(batch)
        observer.after_commit()
        return len([a for a in _volume_alerts(out) if "silent_seconds" in a["detail"]])

    return observer, clock, turn


def test_a_sparse_source_at_its_baseline_rate_raises_no_silence_alert_in_a_day(
    make_settings: MakeSettings, registry: Registry
) -> None:
    # Every gap between records is a test: at p 0.05 per gap, a Poisson source at exactly its
    # baseline rate (a 300 s gap has p 0.026) was called silent 28 times in a day.
    import random

    _, clock, turn = _sparse_observer(make_settings, registry)
    rng, rate = random.Random(7), 1000 / _SPARSE_GAP_MS
    end, arrival, alerts = clock.now + 86_400, clock.now + rng.expovariate(rate), 0
    while clock.now < end:
        clock.now += 10
        stamps = []
        while arrival <= clock.now:
            stamps.append(arrival)
            arrival += rng.expovariate(rate)
        alerts += turn(stamps)
    assert alerts == 0


def test_a_sparse_source_that_stops_is_alerted_once_its_silence_is_significant(
    make_settings: MakeSettings, registry: Registry
) -> None:
    _, clock, turn = _sparse_observer(make_settings, registry)
    assert turn([clock.now]) == 0
    clock.now += 800  # 9.6 records expected: more than one window's gaps would explain
    assert turn([]) == 0
    clock.now += 100
    assert turn([]) == 1


class _OutagePipe(MemoryPipe):
    """The in-memory pipe on the monitor's clock, each poll one turn `step` seconds later.

    From `down` until `up` the broker is stopped as the real clients see it: polls return
    nothing, lag reads and transaction commits fail with transient errors (the service
    retries). The source gives one record a turn before `down` (and before `quiet_from`),
    and after `up` only from `resume` on (never when None). At `end` the service is asked to
    stop. `alerts` collects (time, event) for every volume alert that was committed."""

    def __init__(
        self,
        broker: MemoryBroker,
        clock: _Clock,
        values: list[bytes],
        *,
        down: float,
        up: float,
        end: float,
        resume: float | None = None,
        quiet_from: float | None = None,
        step: float = 10.0,
    ) -> None:
        super().__init__(broker, "g")
        self.clock, self.values = clock, values
        self.quiet_from = down if quiet_from is None else min(down, quiet_from)
        self.down, self.up, self.end, self.resume, self.step = down, up, end, resume, step
        self.alerts: list[tuple[float, dict[str, Any]]] = []
        self.stop: Any = None

    def _is_down(self) -> bool:
        return self.down <= self.clock.now < self.up

    def poll(self, max_records: int, timeout_ms: int) -> list[Any]:
        self.clock.now += self.step
        now = self.clock.now
        if now >= self.end:
            self.stop()
        self.fail_lag = self._is_down()
        if self._is_down():
            return []
        if now < self.quiet_from or (self.resume is not None and now >= self.resume):
            value = self.values[int(now) % len(self.values)]
            self.broker.append(OutRecord("events", b"k", value, [], int(now * 1000), 0))
        return super().poll(max_records, timeout_ms)

    def commit(self, offsets: Any) -> None:
        from guard.errors import TransientTransportError

        if self._is_down():
            raise TransientTransportError("injected: broker down")
        pending = list(self._pending or [])
        super().commit(offsets)
        for rec in pending:
            if rec.topic == "guard.drift":
                event = json.loads(rec.value or b"")
                if event["statistic"] == "volume":
                    self.alerts.append((self.clock.now, event))


def _through_an_outage(
    make_settings: MakeSettings,
    registry: Registry,
    *,
    outage: tuple[float, float],
    end: float,
    resume: float | None = None,
    quiet_from: float | None = None,
    lag_reads: bool = True,
) -> _OutagePipe:
    """A baseline learned from 100 records/s on events/0 (clock at 1000); then the service as
    production wires it (a ServiceProbe reading lag every 10 s; none without `lag_reads`),
    silence_seconds 300, the source flowing until a broker outage from outage[0] to
    outage[1] (times on the monitor's clock)."""
    from guard.service.health import Health
    from guard.service.metrics import ServiceMetrics
    from guard.service.probe import NULL_PROBE, ServiceProbe

    learned, clock = _learned_then_quiet(make_settings, registry)
    settings = make_settings(
        windows={"records": WINDOW, "seconds": None, "silence_seconds": 300},
        top={"retry": {"initial_backoff_ms": 1, "max_backoff_ms": 1, "max_attempts": 10_000}},
    )
    observer = MonitoringObserver(
        settings, registry, clock=clock, baselines={"events": learned.baseline("events")}
    )
    broker = MemoryBroker()
    broker.create("events", 1)
    values = stream(100, seed=3)
    pipe = _OutagePipe(
        broker,
        clock,
        values,
        down=outage[0],
        up=outage[1],
        end=end,
        resume=resume,
        quiet_from=quiet_from,
    )
    health = Health(stall_seconds=60, ready_seconds=30, clock=clock)
    probe = ServiceProbe(ServiceMetrics(), health, {"events": "events"}, 10.0, 0, clock=clock)
    service = build_service(
        settings,
        registry,
        pipe_factory=lambda: pipe,
        observers=[observer],
        describe_targets=broker.describe_topics,
        probe=probe if lag_reads else NULL_PROBE,
    )
    pipe.stop = service.request_stop
    service.run()
    return pipe


def test_no_silence_alert_right_after_a_broker_outage_longer_than_silence_seconds(
    make_settings: MakeSettings, registry: Registry
) -> None:
    # The producers come back 30 s after the broker: the source was never silent.
    pipe = _through_an_outage(make_settings, registry, outage=(1100, 1700), resume=1730, end=2400)
    assert pipe.alerts == []


def test_a_source_still_silent_silence_seconds_after_a_broker_outage_is_alerted(
    make_settings: MakeSettings, registry: Registry
) -> None:
    # The broker is back at 1700; the source never is: alerted from 300 s after 1700.
    pipe = _through_an_outage(make_settings, registry, outage=(1100, 1700), end=2400)
    [(at, alert)] = pipe.alerts
    assert 2000 <= at <= 2010 and alert["detail"]["partitions"] == ["events/0"]
    assert 300 <= alert["detail"]["silent_seconds"] <= 310


def test_a_source_silent_before_a_broker_outage_is_alerted_silence_seconds_after_it(
    make_settings: MakeSettings, registry: Registry
) -> None:
    # Quiet from 1050, the broker down from 1200 to 1500 (the silence reaches 300 s inside
    # the outage): its clock restarts when the broker is back, as at a takeover.
    pipe = _through_an_outage(
        make_settings, registry, outage=(1200, 1500), quiet_from=1050, end=2000
    )
    [(at, alert)] = pipe.alerts
    assert 1800 <= at <= 1810
    assert 300 <= alert["detail"]["silent_seconds"] <= 310


def test_without_lag_reads_failed_transactions_keep_an_outage_out_of_silence(
    make_settings: MakeSettings, registry: Registry
) -> None:
    # No probe: the outage is known from the transactions that fail (the silence alert's own,
    # from 1400) until one lands (the first records after it, at 1730).
    pipe = _through_an_outage(
        make_settings, registry, outage=(1100, 1700), resume=1730, end=2400, lag_reads=False
    )
    assert pipe.alerts == []
