"""Window profiles on the real broker: two instances in one group publish to the profiles topic
and their merged profile is the one a single instance would see."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from guard.config.settings import GuardSettings
from guard.contracts import load_registry
from guard.localbroker import LocalKafka
from guard.monitoring.observer import MonitoringObserver
from guard.monitoring.profiles_topic import (
    current_windows,
    merged,
    read_profiles,
)
from guard.service import build_service
from tests.fixtures.configs import write_config
from tests.fixtures.group_members import wait_until_each_member_owns_partitions
from tests.fixtures.guard_process import GuardProcess
from tests.integration.monitoring.kafka_helpers import create_topic, produce
from tests.monitoring.streams import stream


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
    tmp: Path,
    client: str,
    bootstrap: str,
    source: str,
    group: str,
    schemas: Path,
    mon: dict[str, Any],
) -> dict[str, Any]:
    return {
        "kafka": {
            "client": client,
            "bootstrap_servers": bootstrap,
            "group_id": group,
            "request_timeout_ms": 15000,
        },
        "schemas_dir": str(schemas),
        "state_dir": str(tmp / "state"),  # learned baselines: never into the working directory
        "batch": {"max_records": 10, "poll_timeout_ms": 200},
        "log": {"level": "DEBUG"},
        "topics": {source: {"subject": "events"}},
        "monitoring": mon,
    }


@pytest.mark.integration
def test_two_instances_in_one_group_merge_to_the_profile_one_instance_sees(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    schemas: Path,
    subprocess_env: dict[str, str],
) -> None:
    bootstrap, source, group = kafka.bootstrap_servers, unique("events"), unique("group")
    create_topic(bootstrap, source, 3)
    values = stream(3000, seed=21)
    values[5::97] = [b"{broken"] * len(values[5::97])  # some quarantined records too

    pair = _config(
        tmp_path,
        kafka_client,
        bootstrap,
        source,
        group,
        schemas,
        _monitoring(unique("p"), unique("d")),
    )
    config = write_config(tmp_path / "pair.yaml", pair)
    a = GuardProcess(
        config, {**subprocess_env, "GUARD_KAFKA__INSTANCE_ID": "a"}, "a", "--idle-timeout", "8"
    )
    b = GuardProcess(
        config, {**subprocess_env, "GUARD_KAFKA__INSTANCE_ID": "b"}, "b", "--idle-timeout", "8"
    )
    # The records go in once both own partitions: a backlog could be drained by one alone.
    wait_until_each_member_owns_partitions(bootstrap, group, members=2)
    produce(bootstrap, source, values, 3, int(time.time() * 1000))
    done_a, done_b = a.finish(), b.finish()
    assert done_a["records"] and done_b["records"], "both instances processed records"

    solo_cfg = _config(
        tmp_path,
        kafka_client,
        bootstrap,
        source,
        unique("group"),
        schemas,
        _monitoring(unique("p"), unique("d")),
    )
    solo_cfg["kafka"]["instance_id"] = "solo"
    solo_cfg["batch"]["max_records"] = 500
    solo = GuardSettings(**solo_cfg)
    registry = load_registry(schemas)
    observer = MonitoringObserver(solo, registry)
    observer.start()
    build_service(solo, registry, observers=[observer]).run(
        max_records=len(values), idle_timeout=120
    )

    # One window for the whole run, never closed: the open windows are the whole state.
    pair_slots = current_windows(read_profiles(GuardSettings(**pair)).profiles.values())
    assert sorted(s.instance for s in pair_slots.subjects["events"] if s.open) == ["a", "b"]
    pair_view = merged(s.open for s in pair_slots.subjects["events"])
    solo_slots = current_windows(read_profiles(solo).profiles.values())
    single = merged(s.open for s in solo_slots.subjects["events"])
    assert pair_view is not None and single is not None

    assert (
        (pair_view.records, pair_view.valid, pair_view.quarantined, pair_view.profiled)
        == (
            single.records,
            single.valid,
            single.quarantined,
            single.profiled,
        )
        == (3000, 3000 - len(values[5::97]), len(values[5::97]), 3000 - len(values[5::97]))
    )
    assert pair_view.reasons == single.reasons
    assert pair_view.unknown_fields == single.unknown_fields
    assert (pair_view.first_ts_ms, pair_view.last_ts_ms) == (single.first_ts_ms, single.last_ts_ms)
    for path, fs in single.fields.items():
        fm = pair_view.fields[path]
        assert (fm.missing, fm.nulls, fm.types) == (fs.missing, fs.nulls, fs.types), path
        if fs.categories_exact():
            assert fm.category_counts() == fs.category_counts(), path
        assert (
            abs(fm.distinct_estimate() - fs.distinct_estimate())
            <= 0.03 * fs.distinct_estimate() + 1
        )
        # Value summaries do not depend on who saw which records: the same bins, the same
        # exact moments (up to rounding in the last bits).
        for mine, theirs in ((fm.numeric, fs.numeric), (fm.lengths, fs.lengths)):
            if theirs is None:
                assert mine is None, path
                continue
            assert mine is not None and mine.n == theirs.n, path
            assert mine.keys.tolist() == theirs.keys.tolist(), path
            assert mine.counts.tolist() == theirs.counts.tolist(), path
            assert mine.mean == pytest.approx(theirs.mean, rel=1e-12), path
            assert mine.variance == pytest.approx(theirs.variance, rel=1e-9), path
    # Rates come from per-partition timestamp sketches: equal within their rank error.
    assert pair_view.record_rate() == pytest.approx(single.record_rate(), rel=0.05)
