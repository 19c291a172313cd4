"""Read the records of a drift report: JSON Lines or JSON files, decoded as the guard does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guard.errors import InputError
from guard.filemode.reader import read_records
from guard.validation.decode import Limits, decode

RECORD_SUFFIXES = (".jsonl", ".ndjson", ".json")


@dataclass(frozen=True)
class Unreadable:
    """A line that is not a JSON object; its reason code, never its content."""

    origin: str
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"origin": self.origin, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class Batch:
    """Decoded records in file order, with where each came from (`file:line`)."""

    files: list[str]
    records: list[dict[str, Any]]
    origins: list[str]
    raw: list[bytes] = field(repr=False)
    unreadable: list[Unreadable]

    def __len__(self) -> int:
        return len(self.records)


def load_batch(
    paths: Sequence[str], role: str, *, strict: bool, limits: Limits | None = None
) -> Batch:
    """Read `paths`; `strict` turns any unreadable line into an InputError (for baselines).

    Raises InputError for a missing file or when no record could be read at all.
    """
    if not paths:
        raise InputError(f"{role}: no files given")
    limits = limits or Limits()
    records: list[dict[str, Any]] = []
    origins: list[str] = []
    raw: list[bytes] = []
    unreadable: list[Unreadable] = []
    for rec in read_records(list(paths)):
        origin = f"{rec.file}:{rec.line}"
        obj, error = decode(rec.value, limits)
        if obj is None:
            assert error is not None
            if strict:
                raise InputError(f"{role} {origin}: not a usable JSON object: {error.message}")
            unreadable.append(Unreadable(origin, error.code.value, error.message))
            continue
        records.append(obj)
        origins.append(origin)
        raw.append(rec.value)
    if strict and len(records) == 1 and {"format", "profile"} <= records[0].keys():
        raise InputError(
            f"{role} {origins[0]}: this is a baseline profile (guard baseline build), not "
            "records; give the records it was built from (JSON Lines or JSON)"
        )
    if not records:
        shown = ", ".join(paths)
        detail = f" ({len(unreadable)} unreadable lines)" if unreadable else ""
        raise InputError(f"{role}: no JSON object records in {shown}{detail}")
    return Batch(list(paths), records, origins, raw, unreadable)


def check_record_file(path: str, role: str) -> None:
    """A baseline must be a records file; a profile (`guard baseline build`) is not one."""
    if Path(path).suffix.lower() not in RECORD_SUFFIXES:
        raise InputError(
            f"{role} {path}: expected a JSON Lines or JSON file of records "
            f"({', '.join(RECORD_SUFFIXES)})"
        )
