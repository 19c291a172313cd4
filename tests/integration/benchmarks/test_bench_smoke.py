"""`make bench --quick` on a tiny input: every contender appears, every count is verified.

Timings are printed by the benchmark, never checked here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from benchmarks.contenders import CONTENDERS
from benchmarks.dataset import HEADLINE
from guard.localbroker import LocalKafka
from tests.fixtures.paths import REPO

# One xdist group: the module's run is a module fixture, which every worker would start anew
# (it did: two workers spent ~190 s each on the same quick race).
pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(900),
    pytest.mark.xdist_group("bench-smoke"),
]
RECORDS = 600
# The latency phase runs the same harness for every contender, ~5 s each: one guard and one
# peer cover it (every contender still races).
TIMED = ("guard confluent", "Quix Streams EOS")


@pytest.fixture(scope="module")
def quick_run(
    kafka: LocalKafka, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [
            sys.executable, "-m", "benchmarks", "--quick",
            "--records", str(RECORDS), "--datasets", HEADLINE.name,
            "--latency-rate", "300", "--latency-seconds", "1", "--latency-only", ",".join(TIMED),
            "--bootstrap", kafka.bootstrap_servers, "--out", str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report: dict[str, Any] = json.loads((out / "bench-latest.json").read_text())
    return proc.stdout, report


def _row(report: dict[str, Any], name: str) -> dict[str, Any]:
    rows = [r for r in report["rows"] if r["contender"] == name]
    assert len(rows) == 1, f"{name}: {len(rows)} rows"
    return rows[0]


def test_the_table_lists_every_contender(quick_run: tuple[str, dict[str, Any]]) -> None:
    stdout, report = quick_run
    for contender in CONTENDERS:
        assert contender.name in stdout
        _row(report, contender.name)


def test_no_contender_failed_and_only_missing_transports_are_unavailable(
    quick_run: tuple[str, dict[str, Any]],
) -> None:
    _, report = quick_run
    for contender in CONTENDERS:
        row = _row(report, contender.name)
        if row["status"] == "unavailable":
            assert "not available in this build" in row["error"], row
        else:
            assert row["status"] == "ok", row


def test_every_output_was_read_back_complete_and_without_duplicates(
    quick_run: tuple[str, dict[str, Any]],
) -> None:
    _, report = quick_run
    checked = 0
    for contender in CONTENDERS:
        row = _row(report, contender.name)
        if row["status"] != "ok" or contender.writes == "nothing":
            continue
        for verified in row["verified"]:
            total = verified["valid"] + (verified["invalid"] or 0)
            assert total == RECORDS == verified["keys"], (contender.name, verified)
        if contender.writes == "split":
            assert row["verdicts_agree"], contender.name
        checked += 1
    assert checked >= 6  # both copies, the guard on kafka-python twice, both peers


def test_the_targets_are_printed_with_a_verdict(quick_run: tuple[str, dict[str, Any]]) -> None:
    stdout, report = quick_run
    assert report["targets"]
    for target in report["targets"]:
        assert target["verdict"] in {"met", "NOT MET", "not measured"}
        assert target["target"] in stdout


def test_the_contenders_timed_have_their_latency_measured(
    quick_run: tuple[str, dict[str, Any]],
) -> None:
    _, report = quick_run
    for contender in CONTENDERS:
        row = _row(report, contender.name)
        if contender.name not in TIMED:
            assert row.get("latency_samples") is None, (contender.name, row)
            continue
        assert row["status"] == "ok" and row["latency_samples"], (contender.name, row)
        assert 0 < row["p50_ms"] <= row["p99_ms"], (contender.name, row)
