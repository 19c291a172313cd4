"""Baseline files: versioned beside the contract, loaded newest-first, checked on load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guard.config.settings import MonitoringSettings
from guard.contracts import load_registry
from guard.contracts.registry import Registry
from guard.errors import ContractError, InputError
from guard.monitoring.baseline import (
    Baseline,
    baseline_files,
    build_from_files,
    load_baseline,
    save_baseline,
)
from guard.monitoring.plan import plan_subject
from tests.monitoring.streams import stream


def _jsonl(path: Path, n: int, seed: int) -> str:
    path.write_bytes(b"\n".join(stream(n, seed)) + b"\n")
    return str(path)


def _build(registry: Registry, files: list[str]) -> Baseline:
    plan = plan_subject(registry.subject("events"), MonitoringSettings())
    return build_from_files(registry, plan, files)


def test_each_build_is_saved_as_the_next_version_beside_the_contract(
    registry: Registry, schemas: Path, tmp_path: Path
) -> None:
    data = _jsonl(tmp_path / "a.jsonl", 500, 1)
    first = save_baseline(schemas, _build(registry, [data]))
    second = save_baseline(schemas, _build(registry, [data]))
    assert (first.name, second.name) == ("baseline-v1.json", "baseline-v2.json")
    assert first.parent == schemas / "events"
    assert list(load_registry(schemas).subjects) == ["events"]  # contracts still load
    assert json.loads(first.read_text())["profile"]["records"] == 500


def test_the_newest_baseline_loads_unless_a_version_is_pinned(
    registry: Registry, schemas: Path, tmp_path: Path
) -> None:
    save_baseline(schemas, _build(registry, [_jsonl(tmp_path / "a.jsonl", 300, 1)]))
    save_baseline(schemas, _build(registry, [_jsonl(tmp_path / "b.jsonl", 400, 2)]))
    newest = load_baseline(schemas, "events")
    pinned = load_baseline(schemas, "events", version=1)
    assert newest is not None and (newest.version, newest.profile.records) == (2, 400)
    assert pinned is not None and (pinned.version, pinned.profile.records) == (1, 300)
    assert load_baseline(schemas, "nothing") is None
    with pytest.raises(ContractError, match="does not exist"):
        load_baseline(schemas, "events", version=7)


def test_a_corrupt_baseline_file_is_a_contract_error_naming_the_file(schemas: Path) -> None:
    path = schemas / "events" / "baseline-v1.json"
    path.write_text('{"format": 1, "subject": "events"}')
    with pytest.raises(ContractError, match=r"baseline-v1\.json: not a usable baseline"):
        load_baseline(schemas, "events")


def test_a_baseline_renamed_to_another_version_is_rejected(
    registry: Registry, schemas: Path, tmp_path: Path
) -> None:
    saved = save_baseline(schemas, _build(registry, [_jsonl(tmp_path / "a.jsonl", 100, 1)]))
    saved.rename(saved.with_name("baseline-v3.json"))
    assert list(baseline_files(schemas, "events")) == [3]
    with pytest.raises(ContractError, match="does not match version 1"):
        load_baseline(schemas, "events")


def test_files_without_records_are_an_input_error(registry: Registry, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(InputError, match="no records"):
        _build(registry, [str(empty)])


def test_files_where_no_record_decodes_are_an_input_error(
    registry: Registry, tmp_path: Path
) -> None:
    """Lines that are no JSON objects were built into a baseline of 0 profiled records
    (exit 0): every window was then 'insufficient data', the monitor blind for good."""
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("not json\n{bad\n[1, 2]\n")
    with pytest.raises(InputError, match="no JSON object records"):
        _build(registry, [str(garbage)])
