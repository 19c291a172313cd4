"""The stream and the CI report give the same per-field verdicts on the same records.

Identical records go (a) through the service loop with the drift monitor (in-memory pipe,
one window holding every current record, the baseline built by `guard baseline build`'s
code from the baseline records), and (b) through `guard drift report` with the same
baseline records. The alerts the service publishes and the report's alerts must match, and
so must the per-field states of the published window profile (as `guard drift status` judges
it) and the report's. The cases are chosen clear of their
thresholds; the agreement is by construction (one profiling code, one engine), not by tuning.
The value summaries are deterministic and do not depend on batching, so the numbers agree
too: every test's p-value and effect sizes, field by field.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from guard.config.settings import DriftThresholdSettings, GuardSettings
from guard.contracts import load_registry
from guard.monitoring.baseline import (
    Baseline,
    build_from_files,
    load_baseline,
    plan_record,
    save_baseline,
)
from guard.monitoring.drift import assess
from guard.monitoring.observer import MonitoringObserver
from guard.monitoring.plan import plan_subject
from guard.monitoring.profile import WindowProfile
from guard.reports.calibrate import sample
from guard.reports.drift import build_report
from guard.service import build_service
from guard.transport.base import OutRecord
from guard.transport.memory import MemoryBroker, MemoryPipe
from tests.fixtures.paths import REPO

N = 3000
CASES = [
    ("stable", set()),
    ("null 2% -> 5%", {("coupon", "null_rate_rel")}),
    ("shift 0.5 sd", {("amount", "wasserstein")}),
    ("new category at 1%", {("currency", "new_category")}),
    ("new field (5%)", {("gift_wrap", "new_field")}),
    ("dropped optional field", {("shipping", "missing_field")}),
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A schemas dir with orders and its baseline profile, and the baseline records."""
    root = tmp_path_factory.mktemp("agree")
    schemas = root / "schemas"
    shutil.copytree(REPO / "schemas" / "orders", schemas / "orders")
    records = root / "baseline.jsonl"
    records.write_bytes(b"\n".join(sample("stable", 20_000, seed=7)) + b"\n")
    registry = load_registry(schemas)
    settings = _settings(schemas)
    plan = plan_subject(registry.subject("orders"), settings.monitoring)
    made = build_from_files(registry, plan, [str(records)], accepted=[2])
    save_baseline(schemas, Baseline("orders", made.profile, made.source, plan=plan_record(plan)))
    return schemas, records


def _settings(schemas: Path) -> GuardSettings:
    return GuardSettings(
        topics={"orders": {"subject": "orders"}},  # type: ignore[dict-item]
        schemas_dir=schemas,
        batch={"max_records": 250, "poll_timeout_ms": 1},  # type: ignore[arg-type]
        kafka={"instance_id": "agree"},  # type: ignore[arg-type]
        monitoring={  # type: ignore[arg-type]
            "enabled": True,
            "windows": {"records": N, "seconds": None},
            "baseline": {"source": "file", "save": False},
        },
    )


Judged = tuple[set[tuple[str, str]], dict[str, str], dict[str, object]]


def _stream(schemas: Path, values: list[bytes]) -> Judged:
    """Alerts the service published, and per-field states of its window profile."""
    settings = _settings(schemas)
    registry = load_registry(schemas)
    broker = MemoryBroker()
    broker.create("orders", 1)
    for i, v in enumerate(values):
        broker.append(OutRecord("orders", str(i).encode(), v, [], 1_700_000_000_000 + i, 0))
    observer = MonitoringObserver(settings, registry)
    build_service(
        settings,
        registry,
        pipe_factory=lambda: MemoryPipe(broker, "g"),
        observers=[observer],
        describe_targets=broker.describe_topics,
    ).run(idle_timeout=0)
    events = [json.loads(r.value or b"") for r in broker.records("guard.drift")]
    finals = [
        WindowProfile.from_json(json.loads(r.value or b""))
        for r in broker.records("guard.profiles")
        if dict(r.headers).get("guard.profile.final") == b"true"
    ]
    assert len(finals) == 1 and finals[0].records == N
    plan = plan_subject(registry.subject("orders"), settings.monitoring)
    baseline = load_baseline(schemas, "orders")
    assert baseline is not None
    judged = assess(plan, finals[0], baseline.profile)
    states = {path: v.state for path, v in judged.fields.items()}
    numbers = {path: v.to_json() for path, v in judged.fields.items()}
    # The stream's own checks (CUSUM between closes, the window history) have no CI
    # counterpart: the engine's window alerts are what both must agree on.
    window_checks = [e for e in events if e["statistic"] != "cusum_mean"]
    window_checks = [e for e in window_checks if not e["statistic"].startswith("history_")]
    return {(e["field"], e["statistic"]) for e in window_checks}, states, numbers


def _report(schemas: Path, baseline: Path, values: list[bytes], tmp: Path) -> Judged:
    current = tmp / "current.jsonl"
    current.write_bytes(b"\n".join(values) + b"\n")
    report = build_report(
        load_registry(schemas),
        schemas,
        "orders",
        None,
        [str(baseline)],
        [str(current)],
        tmp / "out",
        DriftThresholdSettings(),
        great_expectations=False,
    )
    alerts = {(a.field, a.statistic) for a in report.assessment.alerts}
    states = {path: v.state for path, v in report.assessment.fields.items()}
    numbers = {path: v.to_json() for path, v in report.assessment.fields.items()}
    return alerts, states, numbers


@pytest.mark.parametrize(("case", "expected"), CASES, ids=[c for c, _ in CASES])
def test_stream_and_report_agree_field_by_field(
    setup: tuple[Path, Path], tmp_path: Path, case: str, expected: set[tuple[str, str]]
) -> None:
    schemas, baseline = setup
    values = sample(case, N, seed=11)
    stream_alerts, stream_states, stream_numbers = _stream(schemas, values)
    report_alerts, report_states, report_numbers = _report(schemas, baseline, values, tmp_path)
    assert stream_states == report_states
    assert stream_numbers == report_numbers  # p-values and effects, number for number
    assert stream_alerts == report_alerts
    assert expected <= report_alerts, report_alerts
    meant = {field for field, _ in expected}
    for path, state in report_states.items():  # nothing else drifts (a dropped object's
        if state == "drift":  # fields vanish with it)
            assert path.split(".")[0] in meant, (path, report_alerts)
