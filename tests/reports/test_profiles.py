"""Profiling a report's input files: the stream's profiles, bounded samples, a progress bar."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard.config.settings import DriftThresholdSettings
from guard.contracts import load_registry
from guard.reports import profiles
from guard.reports.calibrate import sample
from guard.reports.drift import report_plan
from guard.validation.validator import RecordValidator
from tests.fixtures.paths import REPO


def _profile(tmp_path: Path, lines: list[bytes]) -> profiles.ProfiledInput:
    data = tmp_path / "current.jsonl"
    data.write_bytes(b"\n".join(lines) + b"\n")
    registry = load_registry(REPO / "schemas")
    plan = report_plan(registry, "orders", DriftThresholdSettings(), False)
    validator = RecordValidator(registry.subject("orders"), [2])
    return profiles.profile_files(plan, validator, [str(data)], "current", strict=False)


def test_samples_stay_at_their_size_whatever_the_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(profiles, "SAMPLE", 50)
    monkeypatch.setattr(profiles, "REJECTED", 5)
    monkeypatch.setattr(profiles, "UNREADABLE", 3)
    bad = [b'{"amount": -1}'] * 20 + [b"not json"] * 10
    got = _profile(tmp_path, sample("stable", 1000, seed=1) + bad)
    assert (got.records, got.unreadable, got.rejected) == (1020, 10, 30)
    assert (len(got.sample), len(got.rejected_sample), len(got.unreadable_lines)) == (50, 5, 3)
    assert got.profile.records == 1020  # every readable record is profiled, none kept


def test_absent_and_null_are_profiled_apart(tmp_path: Path) -> None:
    lines = [b'{"coupon": null}', b"{}", b'{"coupon": "ABCD1"}'] * 40
    got = _profile(tmp_path, lines)
    coupon = got.profile.fields["coupon"]
    assert (coupon.missing, coupon.nulls, sum(coupon.types.values())) == (40, 40, 40)


def test_a_progress_bar_goes_to_stderr_once_profiling_takes_a_while(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GUARD_PROGRESS_SECONDS", "0")
    _profile(tmp_path, sample("stable", 3000, seed=2))
    captured = capsys.readouterr()
    assert "profiling current" in captured.err and captured.out == ""


def test_no_progress_bar_for_a_quick_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _profile(tmp_path, sample("stable", 200, seed=2))
    assert "profiling" not in capsys.readouterr().err
