"""Drift checks of one window against a baseline, each statistic on its own."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from guard.config.settings import MonitoringSettings
from guard.contracts.registry import Registry
from guard.monitoring.alerts import WINDOW_FIELD, Alert, value_hash
from guard.monitoring.drift import assess, check_window
from guard.monitoring.plan import SubjectPlan, plan_subject
from guard.monitoring.profile import WindowProfile
from tests.monitoring.helpers import profile_values
from tests.monitoring.streams import stream


def _plan(registry: Registry, expose_values: bool = False, **monitoring: Any) -> SubjectPlan:
    return plan_subject(registry.subject("events"), MonitoringSettings(**monitoring), expose_values)


def _baseline(registry: Registry, plan: SubjectPlan) -> WindowProfile:
    return profile_values(registry, plan, stream(2000, seed=100))


def _window(
    registry: Registry, plan: SubjectPlan, drift: str | None, seed: int = 7
) -> WindowProfile:
    return profile_values(registry, plan, stream(1000, seed=seed, drift=drift, drift_at=0))


def _found(alerts: list[Alert]) -> set[tuple[str, str]]:
    return {(a.field, a.statistic) for a in alerts}


def test_stable_windows_raise_no_alert(registry: Registry) -> None:
    plan = _plan(registry)
    base = _baseline(registry, plan)
    for seed in range(1, 6):
        assert check_window(plan, _window(registry, plan, None, seed), base) == []


def test_null_rate_climb_on_a_nullable_field_is_flagged_though_nothing_is_quarantined(
    registry: Registry,
) -> None:
    plan = _plan(registry)
    window = _window(registry, plan, "null_rate")
    alerts = check_window(plan, window, _baseline(registry, plan))
    assert window.quarantined == 0
    [alert] = [a for a in alerts if a.field == "note"]
    assert alert.statistic == "null_rate_abs" and alert.threshold == 0.05
    assert alert.p_value is not None and alert.significance_level is not None
    assert alert.p_value < alert.significance_level < 0.05  # measured p apart from its level
    assert alert.baseline_value is not None and alert.baseline_value < 0.05
    assert alert.current_value is not None and alert.current_value > 0.3
    assert alert.value == alert.current_value - alert.baseline_value


def test_relative_null_rate_change_is_flagged_when_the_absolute_change_is_small(
    registry: Registry,
) -> None:
    plan = _plan(registry, thresholds={"null_rate_abs": 0.5})
    window = _window(registry, plan, "null_rate")
    assert ("note", "null_rate_rel") in _found(
        check_window(plan, window, _baseline(registry, plan))
    )


def test_a_new_value_of_an_enum_like_field_is_flagged_by_hash_not_by_value(
    registry: Registry,
) -> None:
    plan = _plan(registry)
    alerts = check_window(plan, _window(registry, plan, "new_category"), _baseline(registry, plan))
    [new] = [a for a in alerts if a.statistic == "new_category"]
    assert new.field == "country" and new.value == 1.0
    assert (new.baseline_value, new.current_value) == (4.0, 5.0)
    assert new.detail["hashes"] == [value_hash("PL")] and "values" not in new.detail
    assert "PL" not in json.dumps(new.detail)


def test_new_values_are_named_only_when_expose_values_is_on(registry: Registry) -> None:
    plan = _plan(registry, expose_values=True)
    alerts = check_window(plan, _window(registry, plan, "new_category"), _baseline(registry, plan))
    [new] = [a for a in alerts if a.statistic == "new_category"]
    assert new.detail["values"] == ["PL"]


def test_a_shifted_category_mix_is_flagged_by_jensen_shannon_and_chi_square(
    registry: Registry,
) -> None:
    plan = _plan(registry, thresholds={"chi2_p": 0.001, "new_categories": False})
    found = _found(
        check_window(plan, _window(registry, plan, "new_category"), _baseline(registry, plan))
    )
    assert {("country", "js"), ("country", "chi2")} <= found
    assert ("country", "new_category") not in found


def test_a_numeric_shift_is_flagged_by_psi_ks_and_wasserstein(registry: Registry) -> None:
    plan = _plan(registry, thresholds={"wasserstein": 0.1})
    alerts = check_window(plan, _window(registry, plan, "amount_shift"), _baseline(registry, plan))
    assert {a.statistic for a in alerts if a.field == "amount"} == {"psi", "ks", "wasserstein"}
    psi = next(a for a in alerts if a.statistic == "psi")
    assert psi.value >= 0.2 and psi.current_value is not None and psi.baseline_value is not None
    assert psi.current_value > psi.baseline_value * 1.3  # means, not record values


def test_a_field_changing_type_is_flagged(registry: Registry) -> None:
    plan = _plan(registry)
    alerts = check_window(plan, _window(registry, plan, "qty_type"), _baseline(registry, plan))
    [change] = [a for a in alerts if a.statistic == "type_change"]
    assert change.field == "qty" and change.detail["type"] == "string"
    assert change.baseline_value == 0.0 and change.current_value is not None


def test_whole_numbers_in_a_number_field_are_not_a_type_change(registry: Registry) -> None:
    plan = _plan(registry)
    values = [
        json.dumps({**json.loads(raw), "amount": 12}).encode() if i % 4 == 0 else raw
        for i, raw in enumerate(stream(1000, seed=8))
    ]
    window = profile_values(registry, plan, values)
    assert window.fields["amount"].types["integer"] == 250
    assert [
        a
        for a in check_window(plan, window, _baseline(registry, plan))
        if a.statistic == "type_change"
    ] == []


def test_a_new_field_under_allow_is_flagged_before_anything_fails(registry: Registry) -> None:
    plan = _plan(registry)
    window = _window(registry, plan, "new_field")
    alerts = check_window(plan, window, _baseline(registry, plan))
    assert window.quarantined == 0
    [new] = [a for a in alerts if a.statistic == "new_field"]
    assert new.field == "promo" and 0.2 < new.value < 0.4


def test_a_field_that_vanishes_is_flagged_as_missing(registry: Registry) -> None:
    plan = _plan(registry)
    values = [
        json.dumps({k: v for k, v in json.loads(raw).items() if k != "note"}).encode()
        for raw in stream(1000, seed=8)
    ]
    alerts = check_window(plan, profile_values(registry, plan, values), _baseline(registry, plan))
    assert _found(alerts) == {("note", "missing_field")}


def test_a_quarantine_spike_is_flagged_with_its_reason_codes(registry: Registry) -> None:
    plan = _plan(registry)
    values = stream(1000, seed=9)
    values[::10] = [b"{broken"] * 100
    window = profile_values(registry, plan, values)
    [spike] = [
        a for a in check_window(plan, window, _baseline(registry, plan)) if a.field == WINDOW_FIELD
    ]
    assert spike.statistic == "quarantine_rate" and spike.detail["reasons"] == {"not_json": 100}
    assert spike.current_value == 0.1 and spike.baseline_value == 0.0


def test_a_volume_change_is_flagged_from_record_timestamps(registry: Registry) -> None:
    plan = _plan(registry)
    base = profile_values(registry, plan, stream(2000, seed=100), [i * 10 for i in range(2000)])
    same = profile_values(registry, plan, stream(1000, seed=2), [i * 10 for i in range(1000)])
    fast = profile_values(registry, plan, stream(1000, seed=2), [i * 2 for i in range(1000)])
    assert check_window(plan, same, base) == []
    [volume] = check_window(plan, fast, base)
    assert (volume.field, volume.statistic) == (WINDOW_FIELD, "volume")
    assert volume.baseline_value is not None and volume.current_value is not None
    # Within the timestamp sketch's rank error (rates come from its quantiles).
    assert volume.baseline_value == pytest.approx(100, rel=0.03)
    assert volume.current_value == pytest.approx(500, rel=0.03)


def test_volume_is_per_partition_so_a_rebalance_is_not_a_volume_change(
    registry: Registry,
) -> None:
    plan = _plan(registry)
    two = ("events/0", "events/1")
    base = profile_values(
        registry, plan, stream(2000, seed=100), [i * 10 for i in range(2000)], partitions=two
    )
    one = profile_values(
        registry, plan, stream(1000, seed=2), [i * 20 for i in range(1000)], partitions=two[:1]
    )
    assert check_window(plan, one, base) == []


DAY_MS = 24 * 3600 * 1000


def _volume(alerts: list[Alert]) -> list[Alert]:
    return [a for a in alerts if a.statistic == "volume"]


@pytest.mark.parametrize(
    ("at", "shift_ms"),
    [(0, -3 * DAY_MS), (500, -3 * DAY_MS), (999, -3 * DAY_MS), (999, 3 * DAY_MS)],
    ids=["first-3d-early", "middle-3d-early", "last-3d-early", "last-3d-late"],
)
def test_one_far_off_record_timestamp_is_not_a_volume_change(
    registry: Registry, at: int, shift_ms: int
) -> None:
    """An event-time producer or `guard replay --to-source` puts one record 3 days away
    from the rest: the window's rate is still its records' rate (100/s), not 1000 records
    over 3 days."""
    plan = _plan(registry)
    t0 = 1_700_000_000_000
    base = profile_values(
        registry, plan, stream(2000, seed=100), [t0 + i * 10 for i in range(2000)]
    )
    stamps = [t0 + 10_000_000 + i * 10 for i in range(1000)]
    stamps[at] += shift_ms
    window = profile_values(registry, plan, stream(1000, seed=2), stamps)
    assert window.first_ts_ms == min(stamps) and window.last_ts_ms == max(stamps)  # exact
    rate = window.record_rate()
    assert rate == pytest.approx(100, rel=0.05)
    assert _volume(check_window(plan, window, base)) == []


def test_far_off_timestamps_in_several_partitions_are_not_a_volume_change(
    registry: Registry,
) -> None:
    """Three partitions, a few late records in each, and a small partition of 12 records
    (one of them 3 days late): the merged rate stays the partitions' rate."""
    plan = _plan(registry)
    three = ("events/0", "events/1", "events/2")
    t0 = 1_700_000_000_000
    base = profile_values(
        registry, plan, stream(3000, seed=100), [t0 + i * 10 for i in range(3000)], partitions=three
    )
    stamps = [t0 + 10_000_000 + i * 10 for i in range(1500)]
    for i in (0, 4, 500, 1001, 1499):
        stamps[i] -= 3 * DAY_MS
    window = profile_values(registry, plan, stream(1500, seed=2), stamps, partitions=three)
    small_stamps = [t0 + 10_000_000 + i * 30 for i in range(12)]
    small_stamps[5] -= 3 * DAY_MS
    window.merge(
        profile_values(registry, plan, stream(12, seed=3), small_stamps, partitions=("events/3",))
    )
    assert _volume(check_window(plan, window, base)) == []


def test_a_real_volume_drop_still_alerts_despite_a_far_off_timestamp(registry: Registry) -> None:
    plan = _plan(registry)
    t0 = 1_700_000_000_000
    base = profile_values(
        registry, plan, stream(2000, seed=100), [t0 + i * 10 for i in range(2000)]
    )
    stamps = [t0 + 10_000_000 + i * 100 for i in range(1000)]  # 10 records/s
    stamps[300] -= 3 * DAY_MS
    [volume] = _volume(
        check_window(plan, profile_values(registry, plan, stream(1000, 2), stamps), base)
    )
    assert volume.current_value == pytest.approx(10, rel=0.05)
    assert volume.baseline_value == pytest.approx(100, rel=0.05)
    assert volume.value == pytest.approx(0.9, abs=0.05)


def test_reading_an_old_backlog_partition_by_partition_is_not_a_volume_change(
    registry: Registry,
) -> None:
    """After downtime the guard reads a 3-day-old backlog: one partition after the other,
    each at the rate it was produced at. Per-partition spans keep that at 100/s."""
    plan = _plan(registry)
    t0 = 1_700_000_000_000
    two = ("events/0", "events/1")
    base = profile_values(
        registry,
        plan,
        stream(2000, seed=100),
        [t0 + i // 2 * 10 for i in range(2000)],  # 100/s in each partition
        partitions=two,
    )
    old = t0 - 3 * DAY_MS
    window = profile_values(
        registry, plan, stream(600, seed=4), [old + i * 10 for i in range(600)], partitions=two[:1]
    ).merge(
        profile_values(
            registry,
            plan,
            stream(400, seed=5),
            [old + 50_000 + i * 10 for i in range(400)],
            partitions=two[1:],
        )
    )
    assert _volume(check_window(plan, window, base)) == []


def test_a_check_switched_off_in_the_contract_stays_quiet(registry: Registry, schemas: Any) -> None:
    from guard.contracts import load_registry

    contract = (
        (schemas / "events" / "v1.yaml")
        .read_text()
        .replace(
            "nullable: true}", "nullable: true, drift: {null_rate_abs: off, null_rate_rel: off}}"
        )
    )
    (schemas / "events" / "v1.yaml").write_text(contract)
    registry = load_registry(schemas)
    plan = _plan(registry)
    assert plan.fields[[f.path for f in plan.fields].index("note")].thresholds.null_rate_abs is None
    alerts = check_window(plan, _window(registry, plan, "null_rate"), _baseline(registry, plan))
    assert [a for a in alerts if a.field == "note"] == []


def test_windows_below_the_minimum_size_are_not_checked(registry: Registry) -> None:
    plan = _plan(registry, thresholds={"min_records": 2000})
    assert check_window(plan, _window(registry, plan, "null_rate"), _baseline(registry, plan)) == []


def _small_window(registry: Registry, plan: SubjectPlan, change: str) -> WindowProfile:
    """60 records: a new field in 21 (35%), `note` gone, or `qty` a string in 3."""
    values = []
    for i, raw in enumerate(stream(60, seed=11)):
        record = json.loads(raw)
        if change == "new_field" and i % 20 < 7:
            record["promo"] = "P1"
        elif change == "vanished":
            record.pop("note", None)
        elif change == "type" and i % 20 == 0:
            record["qty"] = str(record["qty"])
        values.append(json.dumps(record).encode())
    return profile_values(registry, plan, values)


def test_a_new_field_in_35_percent_of_60_records_is_reported_with_its_count(
    registry: Registry,
) -> None:
    plan = _plan(registry)
    window = _small_window(registry, plan, "new_field")
    [new] = check_window(plan, window, _baseline(registry, plan))
    assert (new.field, new.statistic, new.detail["records"]) == ("promo", "new_field", 21)
    assert new.value == 0.35


def test_a_field_vanishing_from_a_small_window_is_reported(registry: Registry) -> None:
    plan = _plan(registry)
    window = _small_window(registry, plan, "vanished")
    assert _found(check_window(plan, window, _baseline(registry, plan))) == {
        ("note", "missing_field")
    }


def test_a_type_change_in_a_small_window_is_reported_with_its_count(registry: Registry) -> None:
    plan = _plan(registry)
    alerts = check_window(plan, _small_window(registry, plan, "type"), _baseline(registry, plan))
    [change] = alerts
    assert (change.field, change.statistic) == ("qty", "type_change")
    assert change.detail == {"type": "string", "records": 3}


def test_a_small_stable_window_is_insufficient_data_not_ok(registry: Registry) -> None:
    from guard.monitoring.drift import assess

    plan = _plan(registry)
    a = assess(plan, profile_values(registry, plan, stream(60, seed=12)), _baseline(registry, plan))
    assert a.alerts == [] and a.state == "insufficient data"
    assert {v.state for v in a.fields.values()} == {"insufficient data"}


def _long_countries(registry: Registry, plan: SubjectPlan, every: int, distinct: bool) -> Any:
    """1,000 records; `country` of every `every`-th is a string over 256 characters."""
    values = []
    for i, raw in enumerate(stream(1000, seed=7)):
        record = json.loads(raw)
        if i % every == 0:
            record["country"] = ("X" * 300) + (str(i) if distinct else "")
        values.append(json.dumps(record).encode())
    return profile_values(registry, plan, values)


@pytest.mark.parametrize("distinct", [False, True], ids=["one-long-value", "distinct-long"])
def test_values_of_a_categorical_field_turning_into_long_strings_are_flagged(
    registry: Registry, distinct: bool
) -> None:
    """Half of `country` (enum-like in the baseline) becomes 300-character strings: they
    used to be left out of the category counts, so the mix looked unchanged."""
    plan = _plan(registry)
    window = _long_countries(registry, plan, 2, distinct)
    found = _found(check_window(plan, window, _baseline(registry, plan)))
    assert {("country", "new_category"), ("country", "js")} <= found


def test_long_strings_in_baseline_and_window_alike_are_no_drift(registry: Registry) -> None:
    plan = _plan(registry)
    base_values = []
    for i, raw in enumerate(stream(2000, seed=100)):
        record = json.loads(raw)
        if i % 10 == 0:
            record["country"] = "Y" * 300 + str(i)
        base_values.append(json.dumps(record).encode())
    base = profile_values(registry, plan, base_values)
    window = _long_countries(registry, plan, 10, distinct=True)
    assert check_window(plan, window, base) == []


def test_a_volume_drop_that_leaves_a_window_below_min_records_is_flagged(
    registry: Registry,
) -> None:
    """100 records/s in the baseline, 1 record/s now: a 60-second window holds 60 records,
    under `min_records`, and the 99% drop went unreported while a 90% drop (1,000 records)
    was flagged. Now the rate is judged at any size, with a test of its own."""
    plan = _plan(registry)
    t0 = 1_700_000_000_000
    base = profile_values(
        registry, plan, stream(2000, seed=100), [t0 + i * 10 for i in range(2000)]
    )
    stamps = [t0 + 10_000_000 + i * 1000 for i in range(60)]
    window = profile_values(registry, plan, stream(60, seed=2), stamps)
    a = assess(plan, window, base)
    [volume] = _volume(a.alerts)
    assert a.state == "drift"
    assert volume.current_value == pytest.approx(1, rel=0.05)
    assert volume.value == pytest.approx(0.99, abs=0.01)
    assert volume.p_value is not None and volume.significance_level == 0.05
    assert volume.p_value < 1e-6 and volume.detail == {"records": 60}


def test_a_small_window_at_the_baseline_rate_raises_no_volume_alert(registry: Registry) -> None:
    plan = _plan(registry)
    t0 = 1_700_000_000_000
    base = profile_values(
        registry, plan, stream(2000, seed=100), [t0 + i * 10 for i in range(2000)]
    )
    rng = random.Random(3)
    for n in (5, 20, 60, 99):
        stamps, t = [], t0 + 10_000_000.0
        for _ in range(n):
            t += rng.expovariate(100.0) * 1000
            stamps.append(int(t))
        window = profile_values(registry, plan, stream(n, seed=n), stamps)
        assert assess(plan, window, base).state == "insufficient data"


def test_a_baseline_below_min_records_is_insufficient_data_not_ok(registry: Registry) -> None:
    """A baseline of 5 records cannot say what stable looks like: the verdict was "ok" (the
    report's "no drift") although no field could be compared."""
    plan = _plan(registry)
    base = profile_values(registry, plan, stream(5, seed=100))
    a = assess(plan, _window(registry, plan, None), base)
    assert a.alerts == [] and a.state == "insufficient data"


def _keyed(registry: Registry, plan: SubjectPlan, every: int) -> WindowProfile:
    """1,000 records; every `every`-th carries an undeclared key of its own (`user_<i>`)."""
    values = []
    for i, raw in enumerate(stream(1000, seed=7)):
        record = json.loads(raw)
        if i % every == 0:
            record[f"user_{i}"] = 1
        values.append(json.dumps(record).encode())
    return profile_values(registry, plan, values)


def test_new_undeclared_keys_that_differ_in_every_record_are_flagged_together(
    registry: Registry,
) -> None:
    """Every record carries a new undeclared key of its own: each path was in one record,
    never significant, so nothing was flagged (and the 200 tracked paths diluted the
    family). They are now one window-level test: new_fields."""
    plan = _plan(registry)
    a = assess(plan, _keyed(registry, plan, 1), _baseline(registry, plan))
    [alert] = a.alerts
    assert (alert.field, alert.statistic) == (WINDOW_FIELD, "new_fields")
    assert alert.detail == {"records": 1000, "fields": 200, "untracked": 800}
    assert a.tests < 20  # the untestable one-record paths are not tests of their own


def test_one_record_with_a_new_key_is_not_flagged(registry: Registry) -> None:
    plan = _plan(registry)
    assert check_window(plan, _keyed(registry, plan, 1000), _baseline(registry, plan)) == []


def _codes(registry: Registry, plan: SubjectPlan, n: int, seed: int) -> WindowProfile:
    """`note` holds one of 300 codes, uniformly: more values than the category sketch keeps."""
    rng = random.Random(seed)
    values = []
    for raw in stream(n, seed=seed):
        record = json.loads(raw)
        record["note"] = f"n{rng.randint(1, 300)}"
        values.append(json.dumps(record).encode())
    return profile_values(registry, plan, values)


def test_a_categorical_field_with_more_values_than_the_sketch_holds_is_quiet_when_stable(
    registry: Registry,
) -> None:
    """`categorical: true` on a field of 300 codes: the baseline's sketch kept only its
    frequent values, so every stable window raised new_category (39-76 'new' values) and
    js (0.63-0.84)."""
    plan = _plan(registry, fields={"events": {"note": {"categorical": True}}})
    base = _codes(registry, plan, 5000, 1)
    assert not base.fields["note"].categories_exact()
    for seed in (2, 3, 4):
        assert check_window(plan, _codes(registry, plan, 2000, seed), base) == []


def test_silence_expects_nothing_of_partitions_the_baseline_did_not_time(
    registry: Registry,
) -> None:
    from guard.monitoring.drift import silence

    plan = _plan(registry)
    base = _baseline(registry, plan)  # profiled from values alone: no source partitions
    assert base.partitions == {}
    assert silence("events", plan.window, base, {"events/0": 3600.0}) is None
