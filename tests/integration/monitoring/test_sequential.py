"""Sequential detection on the real broker: a +0.3 sd shift of `amount` that starts in the
middle of a 5,000-record window is alerted on the drift topic within 1,500 records (+0.2 sd
within 2,500), before the window closes, and the stable stretch before it raises nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from guard.config.settings import GuardSettings
from guard.contracts import load_registry
from guard.localbroker import LocalKafka
from guard.monitoring.baseline import Baseline, plan_record, save_baseline
from guard.monitoring.observer import MonitoringObserver
from guard.monitoring.plan import plan_subject
from guard.service import build_service
from guard.verify import read_topic
from tests.integration.monitoring.kafka_helpers import create_topic, group_position, produce
from tests.monitoring.helpers import profile_values
from tests.monitoring.streams import stream

WINDOW = 5_000
DRIFT_AT = WINDOW + WINDOW // 2  # the middle of the second window
TOTAL = 2 * WINDOW
STEP_MS = 10


@pytest.mark.integration
@pytest.mark.parametrize(("shift", "within"), [(0.3, 1_500), (0.2, 2_500)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_shift_mid_window_is_alerted_within_its_delay(
    shift: float,
    within: int,
    kafka: LocalKafka,
    unique: Callable[[str], str],
    tmp_path: Path,
    schemas: Path,
    seed: int,
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("events")
    settings = GuardSettings(
        kafka={"bootstrap_servers": bootstrap, "group_id": unique("g"), "instance_id": "seq"},  # type: ignore[arg-type]
        schemas_dir=schemas,
        state_dir=tmp_path / "state",
        batch={"max_records": 500, "poll_timeout_ms": 200},  # type: ignore[arg-type]
        topics={source: {"subject": "events"}},  # type: ignore[dict-item]
        monitoring={  # type: ignore[arg-type]
            "enabled": True,
            "windows": {"records": WINDOW, "seconds": None},
            "baseline": {"source": "file", "save": False},
            "drift_topic": unique("drift"),
            "profiles_topic": unique("profiles"),
        },
    )
    registry = load_registry(schemas)
    plan = plan_subject(registry.subject("events"), settings.monitoring)
    base = profile_values(registry, plan, stream(20_000, seed=100 + seed))
    save_baseline(schemas, Baseline("events", base, {"kind": "test"}, plan=plan_record(plan)))
    assert base.fields["amount"].numeric is not None
    sd = base.fields["amount"].numeric.std

    values = []
    for i, raw in enumerate(stream(TOTAL, seed=seed)):
        record = json.loads(raw)
        if i >= DRIFT_AT:
            record["amount"] = round(record["amount"] + shift * sd, 2)
        values.append(json.dumps(record).encode())
    create_topic(bootstrap, source, 1)  # one partition: the drift point is a point in time
    t0 = int(time.time() * 1000)
    produce(bootstrap, source, values, 1, t0, STEP_MS)

    observer = MonitoringObserver(settings, registry)
    observer.start()
    service = build_service(settings, registry, observers=[observer])
    summary = service.run(max_records=TOTAL, idle_timeout=120)
    # Every record checked: otherwise say where the group stands (a stall, not a late alert).
    assert summary.stopped_by == "max-records", (
        f"stopped by {summary.stopped_by} after {summary.stats.total} records in "
        f"{summary.batches} batches ({summary.retries} retries); "
        f"{group_position(bootstrap, settings.kafka.group_id, source)}"
    )

    events = [
        json.loads(r.value or b"") for r in read_topic(bootstrap, settings.monitoring.drift_topic)
    ]
    early = [e for e in events if e["statistic"] == "cusum_mean"]
    assert early, f"a CUSUM alert; got {[(e['field'], e['statistic']) for e in events]}"
    # Where in the stream each alert fired: its record's timestamp.
    fired = sorted((e["window"]["last_timestamp_ms"] - t0) // STEP_MS for e in early)
    assert [e["field"] for e in early] == ["amount"] and early[0]["detail"]["direction"] == "up"
    assert DRIFT_AT <= fired[0] < DRIFT_AT + within, fired
    assert fired[0] < TOTAL - 1, "alerted before the window closed"
    before = [e for e in events if (e["window"]["last_timestamp_ms"] - t0) // STEP_MS < DRIFT_AT]
    assert before == [], "nothing alerted before the drift"
