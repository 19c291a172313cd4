"""Profiles on the compacted topic: latest window per instance, merged per subject; and on the
real broker, two instances of one group merge to what one instance sees of the same data."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from guard.config.settings import GuardSettings, SketchSettings
from guard.contracts import load_registry
from guard.localbroker import LocalKafka
from guard.monitoring.observer import MonitoringObserver
from guard.monitoring.profile import WindowMeta, WindowProfile
from guard.monitoring.profiles_topic import latest_per_instance, merged_view, read_profiles
from guard.service import GuardService
from guard.transport.kafka import KafkaPipe
from tests.monitoring.kafka_helpers import GuardProcess, create_topic, produce, write_config
from tests.monitoring.streams import stream


def _window(instance: str, seq: int, started: float, records: int) -> WindowProfile:
    p = WindowProfile("events", ("a",), SketchSettings())
    p.records = records
    p.meta = WindowMeta("events", instance, seq, started, started + 1)
    return p


def test_the_latest_window_of_each_instance_is_merged_per_subject() -> None:
    profiles = [_window("a", 0, 10, 100), _window("a", 1, 20, 7), _window("b", 0, 15, 5)]
    groups = latest_per_instance(profiles)
    assert sorted((p.meta.instance, p.records) for p in groups["events"] if p.meta) == [
        ("a", 7),
        ("b", 5),
    ]
    merged = merged_view(groups)["events"]
    assert (merged.records, merged.windows) == (12, 2)


def test_max_age_leaves_out_instances_that_stopped_publishing() -> None:
    profiles = [_window("a", 0, 1000, 1), _window("b", 0, 100, 1)]
    groups = latest_per_instance(profiles, max_age_s=60, now=1030)
    assert [p.meta.instance for p in groups["events"] if p.meta] == ["a"]


def _monitoring(profiles_topic: str, drift_topic: str) -> dict[str, Any]:
    return {
        "enabled": True,
        "windows": {"records": 1_000_000, "seconds": None},  # one window for the whole run
        "snapshot_seconds": 0,  # publish the open window with every batch
        "profiles_topic": profiles_topic,
        "drift_topic": drift_topic,
        "baseline": {"source": "learn", "save": False},
    }


def _config(
    tmp: Path, bootstrap: str, source: str, group: str, schemas: Path, mon: dict[str, Any]
) -> dict[str, Any]:
    return {
        "kafka": {"bootstrap_servers": bootstrap, "group_id": group, "request_timeout_ms": 15000},
        "schemas_dir": str(schemas),
        "batch": {"max_records": 10, "poll_timeout_ms": 200},
        "log": {"level": "DEBUG"},
        "topics": {source: {"subject": "events"}},
        "monitoring": mon,
    }


@pytest.mark.integration
def test_two_instances_in_one_group_merge_to_the_profile_one_instance_sees(
    kafka: LocalKafka,
    unique: Callable[[str], str],
    tmp_path: Path,
    schemas: Path,
    subprocess_env: dict[str, str],
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("events")
    create_topic(bootstrap, source, 3)
    values = stream(3000, seed=21)
    values[5::97] = [b"{broken"] * len(values[5::97])  # some quarantined records too
    produce(bootstrap, source, values, 3, int(time.time() * 1000))

    pair = _config(
        tmp_path, bootstrap, source, unique("group"), schemas, _monitoring(unique("p"), unique("d"))
    )
    config = write_config(tmp_path / "pair.yaml", pair)
    a = GuardProcess(
        config, {**subprocess_env, "GUARD_KAFKA__INSTANCE_ID": "a"}, "a", "--idle-timeout", "4"
    )
    b = GuardProcess(
        config, {**subprocess_env, "GUARD_KAFKA__INSTANCE_ID": "b"}, "b", "--idle-timeout", "4"
    )
    done_a, done_b = a.finish(), b.finish()
    assert done_a["records"] and done_b["records"], "both instances processed records"

    solo_cfg = _config(
        tmp_path, bootstrap, source, unique("group"), schemas, _monitoring(unique("p"), unique("d"))
    )
    solo_cfg["kafka"]["instance_id"] = "solo"
    solo_cfg["batch"]["max_records"] = 500
    solo = GuardSettings(**solo_cfg)
    registry = load_registry(schemas)
    observer = MonitoringObserver(solo, registry)
    observer.start()
    GuardService(solo, registry, lambda: KafkaPipe(solo.kafka), [observer]).run(idle_timeout=3)

    pair_groups = latest_per_instance(read_profiles(GuardSettings(**pair)).profiles.values())
    assert sorted(p.meta.instance for p in pair_groups["events"] if p.meta) == ["a", "b"]
    merged = merged_view(pair_groups)["events"]
    single = merged_view(latest_per_instance(read_profiles(solo).profiles.values()))["events"]

    assert (
        (merged.records, merged.valid, merged.quarantined, merged.profiled)
        == (
            single.records,
            single.valid,
            single.quarantined,
            single.profiled,
        )
        == (3000, 3000 - len(values[5::97]), len(values[5::97]), 3000 - len(values[5::97]))
    )
    assert merged.reasons == single.reasons
    assert merged.unknown_fields == single.unknown_fields
    assert (merged.first_ts_ms, merged.last_ts_ms) == (single.first_ts_ms, single.last_ts_ms)
    ranks = [0.1, 0.25, 0.5, 0.75, 0.9]
    for path, fs in single.fields.items():
        fm = merged.fields[path]
        assert (fm.missing, fm.nulls, fm.types) == (fs.missing, fs.nulls, fs.types), path
        if fs.categories_exact():
            assert fm.category_counts() == fs.category_counts(), path
        assert (
            abs(fm.distinct_estimate() - fs.distinct_estimate())
            <= 0.03 * fs.distinct_estimate() + 1
        )
        if fs.numeric is not None:
            assert fm.numeric is not None and fm.numeric.n == fs.numeric.n
            # Both approximate the same data: ranks agree within twice the sketch's rank error.
            error = 2 * fs.numeric.normalized_rank_error(False)
            for q in fm.quantiles(ranks) or []:
                assert abs(fm.numeric.get_rank(q) - fs.numeric.get_rank(q)) <= error, path
        if fs.lengths is not None:
            assert fm.lengths is not None and fm.lengths.n == fs.lengths.n
    assert np.isclose(merged.record_rate() or 0, single.record_rate() or 0)
