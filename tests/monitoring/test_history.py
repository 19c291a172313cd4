"""History-aware checks: seeded seasonal window summaries judged as the monitor judges them."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any

import pytest

from benchmarks.history_calibration import HOUR, replay, seasonal_stream
from guard.config.settings import GuardSettings, HistoryRule, HistorySettings
from guard.contracts.registry import Registry
from guard.monitoring.alerts import WINDOW_FIELD
from guard.monitoring.history import WindowSummary, judge
from guard.monitoring.observer import MonitoringObserver
from guard.service import build_service
from guard.transport.base import OutRecord
from guard.transport.memory import MemoryBroker, MemoryPipe
from tests.monitoring.conftest import MakeSettings
from tests.monitoring.streams import stream

WEEKS5 = 5 * 7 * 24


@pytest.mark.parametrize("seed", range(5))
def test_a_seasonal_stable_stream_raises_no_history_alert(seed: int) -> None:
    assert replay(HistorySettings(), seasonal_stream(WEEKS5, seed)) == []


def test_a_weekly_cycle_is_stable_under_a_weekly_seasonal_rule() -> None:
    cfg = HistorySettings(
        windows=1000, volume=HistoryRule(strategy="seasonal", period="weekly", min_band=0.1)
    )
    for seed in range(3):
        assert replay(cfg, seasonal_stream(WEEKS5, seed, weekly=True)) == []


def test_a_step_change_in_quarantine_rate_alerts_naming_strategy_and_range() -> None:
    step = WEEKS5 - 100
    summaries = seasonal_stream(WEEKS5, 7, step_at=step)
    cfg = HistorySettings()
    history, current = summaries[step - cfg.windows : step], summaries[step]
    [j] = [j for j in judge(cfg, current, history) if j.anomalous]
    assert (j.metric, j.strategy) == ("quarantine_rate", "rate_of_change")
    alert = j.alert("orders", cfg.quarantine_rate)
    assert (alert.field, alert.statistic) == (WINDOW_FIELD, "history_quarantine_rate")
    assert alert.detail["strategy"] == "rate_of_change"
    low, high = alert.detail["expected_low"], alert.detail["expected_high"]
    assert high == pytest.approx(history[-1].quarantine_rate + 0.05, rel=1e-5)
    assert low is None  # no max_decrease: unbounded below (JSON-safe as None)
    assert alert.current_value is not None and alert.current_value > high


def test_a_volume_drop_at_peak_time_alerts_by_the_seasonal_rule() -> None:
    summaries = seasonal_stream(WEEKS5, 8)
    i = WEEKS5 - 24 + 15  # mid-afternoon of the last day, near the daily peak
    dropped = replace(summaries[i], volume=(summaries[i].volume or 0) * 0.5)
    cfg = HistorySettings()
    [j] = [j for j in judge(cfg, dropped, summaries[i - cfg.windows : i]) if j.anomalous]
    assert (j.metric, j.strategy) == ("volume", "seasonal")
    alert = j.alert("orders", cfg.volume)
    assert alert.detail["period"] == "daily" and alert.value < alert.detail["expected_low"]
    # The same window at its normal volume is inside the range.
    assert not [j for j in judge(cfg, summaries[i], summaries[i - cfg.windows : i]) if j.anomalous]


def test_a_field_rule_overrides_the_null_rate_default() -> None:
    summaries = seasonal_stream(48, 9)
    jumped = replace(summaries[-1], null_rates={"coupon": 0.5})
    default = HistorySettings()
    assert [j.metric for j in judge(default, jumped, summaries[:-1]) if j.anomalous] == [
        "null_rate:coupon"
    ]
    off = HistorySettings(fields={"orders": {"coupon": HistoryRule(strategy="off")}})
    assert [j for j in judge(off, jumped, summaries[:-1]) if j.anomalous] == []


def test_too_little_history_is_not_judged_by_the_seasonal_rule() -> None:
    summaries = seasonal_stream(30, 10)  # not even two days: no seasonal pairs yet
    metrics = {j.metric for j in judge(HistorySettings(), summaries[-1], summaries[:-1])}
    assert "volume" not in metrics and "quarantine_rate" in metrics


def test_a_summary_survives_json() -> None:
    s = seasonal_stream(1, 11)[0]
    assert WindowSummary.from_json(json.loads(json.dumps(s.to_json()))) == s
    assert s.span == HOUR


def _run(settings: GuardSettings, registry: Registry, values: list[bytes]) -> MemoryBroker:
    broker = MemoryBroker()
    broker.create("events", 1)
    for i, v in enumerate(values):
        broker.append(OutRecord("events", str(i).encode(), v, [], 1_700_000_000_000 + i, 0))
    observer = MonitoringObserver(settings, registry)
    build_service(
        settings, registry, pipe_factory=lambda: MemoryPipe(broker, "g"), observers=[observer]
    ).run(idle_timeout=0)
    return broker


def test_the_monitor_keeps_a_bounded_history_on_the_profiles_topic_and_alerts_on_a_step(
    make_settings: MakeSettings, registry: Registry
) -> None:
    values = stream(6000, seed=12)
    values[5000::10] = [b"{broken"] * 100  # the last window: 10% quarantined
    settings = make_settings(history={"windows": 4})
    broker = _run(settings, registry, values)
    summaries = [r for r in broker.records("guard.profiles") if r.key.startswith(b"history/")]
    assert len(summaries) == 6  # one per window
    assert {r.key for r in summaries} == {
        f"history/events/test-instance/{i}".encode() for i in range(4)
    }
    events: list[dict[str, Any]] = [
        json.loads(r.value or b"") for r in broker.records("guard.drift")
    ]
    history = [e for e in events if e["statistic"] == "history_quarantine_rate"]
    assert len(history) == 1 and history[0]["window"]["records"] == 1000
    assert history[0]["detail"]["strategy"] == "rate_of_change"
    assert history[0]["detail"]["expected_high"] == pytest.approx(0.05)


def test_rates_of_windows_below_min_records_are_neither_judged_nor_a_reference() -> None:
    """A quiet topic: windows of 20 records, 2% nulls and 1% quarantined. One null in 20 is
    5%, so rate_of_change (+-0.05) alerted on 32 of 300 stable windows; and a 3-record
    window (1 null: 33%) was the reference the next full window was judged by."""
    rng = random.Random(1)
    cfg = HistorySettings()
    history: list[WindowSummary] = []
    alerts = 0
    for i in range(300):
        nulls = sum(rng.random() < 0.02 for _ in range(20))
        quarantined = sum(rng.random() < 0.01 for _ in range(20))
        s = WindowSummary(
            "events", "a", i, 1.7e9 + i * 60, 60, 20, quarantined, 20 / 60, {"note": nulls / 20}
        )
        alerts += any(j.anomalous for j in judge(cfg, s, history, min_records=100))
        history.append(s)
    assert alerts == 0
    full = WindowSummary("events", "a", 0, 1.7e9, 60, 1000, 10, 1000 / 60, {"note": 0.02})
    tiny = WindowSummary("events", "a", 1, 1.7e9 + 60, 60, 3, 0, 3 / 60, {"note": 1 / 3})
    after = WindowSummary("events", "a", 2, 1.7e9 + 120, 60, 1000, 10, 1000 / 60, {"note": 0.02})
    assert [j.metric for j in judge(cfg, tiny, [full], 100)] == []  # volume: no seasonal pairs
    assert not [j for j in judge(cfg, after, [full, tiny], 100) if j.anomalous]


def test_the_monitor_judges_no_rates_of_windows_below_min_records(
    make_settings: MakeSettings, registry: Registry
) -> None:
    """A stable stream in windows of 20 records (`note` null in 2%): the monitor raised
    history_null_rate alerts on windows where one null in 20 made 5%."""
    settings = make_settings(windows={"records": 20, "seconds": None})
    broker = _run(settings, registry, stream(2000, seed=12))
    events = [json.loads(r.value or b"") for r in broker.records("guard.drift")]
    assert [e for e in events if e["statistic"].startswith("history_")] == []
