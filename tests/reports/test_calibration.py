"""The engine's false-alarm rate and detection power, on seeded samples (docs/drift-engine.md).

The same measurement as `python -m guard.reports.calibrate`, smaller: fixed seeds and a
20,000 record baseline. The profiles are deterministic, so each verdict here is the same on
every run. Stable samples must stay under the 5% target (100 runs per size); each drift
must be found on its own field in most runs at 1,000 records.
"""

from __future__ import annotations

import pytest

from guard.reports.calibrate import CASES, Engine, measure

RUNS = 40
STABLE_RUNS = 100


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.at_defaults(seed=1)


@pytest.mark.parametrize("size", [200, 500, 1000])
def test_stable_samples_raise_at_most_5_percent_false_alarms(engine: Engine, size: int) -> None:
    alarms, alerted = measure(engine, "stable", size, STABLE_RUNS, seed=3)
    assert alarms <= 5, alerted  # 5% of 100 runs


# (case, sample size, least runs of 40 that must find it on the drifted field)
POWER = [
    ("null 2% -> 5%", 1000, 30),
    ("shift 0.25 sd", 1000, 36),
    ("shift 0.5 sd", 500, 38),
    ("new category at 1%", 1000, 36),
    ("new field (5%)", 500, 38),
    ("dropped optional field", 200, 40),
]


@pytest.mark.parametrize(("case", "size", "least"), POWER, ids=[p[0] for p in POWER])
def test_each_drift_is_found_on_its_field(engine: Engine, case: str, size: int, least: int) -> None:
    assert case in CASES
    found, _ = measure(engine, case, size, RUNS, seed=4)
    assert found >= least, f"{case} at n={size}: found in {found} of {RUNS} runs"
