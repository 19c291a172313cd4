"""Profile a drift report's input files into the stream's window profiles, in bounded memory.

Every record is read once, decoded and validated as the guard does, and added to a
`WindowProfile` with the stream monitor's own code (`WindowProfile.add`), so the report and
the in-stream monitor judge the same profiles with the same engine. What the report needs
beyond the profile is bounded too: exact counts of the guard's verdicts (per reason and per
field), the first rejected records (for pandera's failure cases), a uniform reservoir sample
of the records (for the Great Expectations corroboration) and the first unreadable lines.
Memory is then fields x sketch size plus those fixed-size samples, whatever the input size.
Progress goes to stderr (guard.progress) for inputs that take more than a couple of seconds.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guard.errors import InputError
from guard.filemode.reader import read_records
from guard.monitoring.plan import SubjectPlan
from guard.monitoring.profile import Observation, WindowProfile
from guard.progress import Progress
from guard.reports.records import Unreadable
from guard.validation.decode import Limits, decode
from guard.validation.rules import rule_hits
from guard.validation.validator import RecordValidator, Verdict

CHUNK = 2_000  # records profiled per batch (as the stream profiles per poll)
SAMPLE = 10_000  # records kept for Great Expectations
REJECTED = 1_000  # rejected records kept for pandera's failure cases
UNREADABLE = 100  # unreadable lines kept (all are counted)


@dataclass
class Kept:
    """A record kept for a sample, with where it came from (`file:line`)."""

    origin: str
    record: dict[str, Any]


@dataclass
class ProfiledInput:
    role: str
    files: list[str]
    profile: WindowProfile
    records: int = 0  # lines that decoded to a JSON object
    unreadable: int = 0
    unreadable_lines: list[Unreadable] = field(default_factory=list)
    rejected: int = 0  # records the guard would quarantine (unreadable lines included)
    reasons: Counter[str] = field(default_factory=Counter)
    # Rejected records per declared field (an error under `items[0].qty` counts for `items`).
    rejected_fields: Counter[str] = field(default_factory=Counter)
    rejected_sample: list[Kept] = field(default_factory=list)
    sample: list[Kept] = field(default_factory=list)
    # Contract rules that did not hold: (rule, action, reason) -> records.
    rule_hits: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "records": self.records,
            "unreadable": self.unreadable,
            "unreadable_lines": [u.to_json() for u in self.unreadable_lines],
            "guard_rejected": self.rejected,
            "sampled": len(self.sample),
        }


def profile_files(
    plan: SubjectPlan,
    validator: RecordValidator,
    paths: Sequence[str],
    role: str,
    *,
    strict: bool,
    seed: int = 0,
) -> ProfiledInput:
    """Profile `paths`; `strict` turns an unreadable line into an InputError (baselines)."""
    if not paths:
        raise InputError(f"{role}: no files given")
    out = ProfiledInput(role, list(paths), WindowProfile.for_plan(plan))
    rng = random.Random(seed)
    paths_by_length = sorted(plan.paths, key=len, reverse=True)
    chunk: list[Observation] = []
    total = sum(os.path.getsize(p) for p in paths if p != "-" and Path(p).is_file())
    with Progress(f"profiling {role}", total, unit="B") as progress:
        for rec in read_records(list(paths)):
            progress.update(len(rec.value) + 1)
            origin = f"{rec.file}:{rec.line}"
            verdict = validator.validate(rec.value)
            obj = verdict.record
            if obj is None:  # not a JSON object: the decoder's reason
                error = verdict.errors[0]
                if strict:
                    raise InputError(f"{role} {origin}: not a usable JSON object: {error.message}")
                out.unreadable += 1
                out.rejected += 1
                out.reasons[error.code.value] += 1
                if len(out.unreadable_lines) < UNREADABLE:
                    out.unreadable_lines.append(Unreadable(origin, error.code.value, error.message))
                continue
            if strict and out.records == 0 and {"format", "profile"} <= obj.keys():
                raise InputError(
                    f"{role} {origin}: this is a baseline profile (guard baseline build), not "
                    "records; give the records it was built from (JSON Lines or JSON)"
                )
            _keep(out, verdict, obj, origin, rng, paths_by_length)
            chunk.append((None, None, verdict))
            if len(chunk) >= CHUNK:
                out.profile.add(plan, chunk)
                chunk = []
    if chunk:
        out.profile.add(plan, chunk)
    if out.records == 0:
        detail = f" ({out.unreadable} unreadable lines)" if out.unreadable else ""
        raise InputError(f"{role}: no JSON object records in {', '.join(paths)}{detail}")
    return out


def _keep(
    out: ProfiledInput,
    verdict: Verdict,
    obj: dict[str, Any],
    origin: str,
    rng: random.Random,
    paths: list[str],
) -> None:
    out.records += 1
    if len(out.sample) < SAMPLE:  # reservoir sampling: every record equally likely
        out.sample.append(Kept(origin, obj))
    else:
        slot = rng.randrange(out.records)
        if slot < SAMPLE:
            out.sample[slot] = Kept(origin, obj)
    if verdict.warnings or not verdict.ok:
        out.rule_hits.update(rule_hits(verdict.errors, verdict.warnings))
    if verdict.ok:
        return
    out.rejected += 1
    out.reasons.update(verdict.reasons)
    out.rejected_fields.update({_declared(e.path, paths) for e in verdict.errors})
    if len(out.rejected_sample) < REJECTED:
        out.rejected_sample.append(Kept(origin, obj))


def _declared(error_path: str, paths: list[str]) -> str:
    """The declared field an error is under (the longest matching path), else the path."""
    for p in paths:
        if error_path == p or error_path.startswith((p + ".", p + "[")):
            return p
    return error_path


def decoded(paths: Sequence[str], limits: Limits | None = None) -> Iterator[dict[str, Any]]:
    """The JSON object records of `paths`, streamed (unreadable lines skipped)."""
    limits = limits or Limits()
    for rec in read_records(list(paths)):
        obj, _ = decode(rec.value, limits)
        if obj is not None:
            yield obj
