"""Reading the records of a drift report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guard.errors import InputError
from guard.reports.records import check_record_file, load_batch


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_records_keep_their_origin(tmp_path: Path) -> None:
    name = write(tmp_path / "a.jsonl", '{"a": 1}\n\n{"a": 2}\n')
    batch = load_batch([name], "current", strict=False)
    assert batch.records == [{"a": 1}, {"a": 2}]
    assert batch.origins == [f"{name}:1", f"{name}:3"]


def test_unreadable_lines_are_counted_with_a_reason_not_their_content(tmp_path: Path) -> None:
    name = write(tmp_path / "a.jsonl", '{"a": 1}\nsecret=42\n[1]\n')
    batch = load_batch([name], "current", strict=False)
    assert [(u.origin, u.code) for u in batch.unreadable] == [
        (f"{name}:2", "not_json"),
        (f"{name}:3", "not_object"),
    ]
    assert all("secret" not in u.message for u in batch.unreadable)


def test_a_strict_baseline_fails_on_the_first_unreadable_line(tmp_path: Path) -> None:
    name = write(tmp_path / "b.jsonl", '{"a": 1}\n{"a": \n')
    with pytest.raises(InputError, match=rf"^baseline {name}:2: not a usable JSON object"):
        load_batch([name], "baseline", strict=True)


def test_no_records_at_all_is_an_input_error(tmp_path: Path) -> None:
    name = write(tmp_path / "e.jsonl", "\n\n")
    with pytest.raises(InputError, match="current: no JSON object records"):
        load_batch([name], "current", strict=False)


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_batch([str(tmp_path / "nope.jsonl")], "current", strict=False)


def test_a_baseline_profile_is_refused_with_a_pointer_to_the_records(tmp_path: Path) -> None:
    profile = {"format": 1, "subject": "orders", "profile": {"records": 10}}
    name = write(tmp_path / "baseline-v1.json", json.dumps(profile))
    with pytest.raises(InputError, match="baseline profile"):
        load_batch([name], "baseline", strict=True)


@pytest.mark.parametrize("name", ["b.parquet", "b.csv", "baseline"])
def test_a_baseline_must_be_a_records_file(name: str) -> None:
    with pytest.raises(InputError, match="expected a JSON Lines or JSON file"):
        check_record_file(name, "baseline")
