"""Baselines: a reference profile per subject, stored as a versioned file.

A baseline built from files (`guard baseline build`) and reviewed goes beside the contract,
`schemas/<subject>/baseline-v<N>.json` (the contract registry only reads `v<N>.yaml`, so the
two never collide). One learned from the first windows of the live stream is state: it goes
to `<state_dir>/baselines/<subject>/`, never into the version-controlled schemas directory.
Either way a new file gets the next free version and is never overwritten, so a baseline in
use can always be traced back.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guard.contracts.registry import Registry
from guard.errors import ContractError, InputError
from guard.monitoring.plan import SubjectPlan
from guard.monitoring.profile import Observation, WindowProfile
from guard.validation.decode import Limits
from guard.validation.validator import AcceptedVersions, RecordValidator, Verdict

if TYPE_CHECKING:
    from guard.config.settings import GuardSettings

BASELINE_FORMAT = 1
_FILE = re.compile(r"^baseline-v(\d+)\.json$")
_CHUNK = 1000  # records profiled per vectorised batch when building from files


@dataclass
class Baseline:
    subject: str
    profile: WindowProfile
    source: dict[str, Any]
    version: int | None = None  # assigned when saved
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    path: Path | None = None
    # The plan it was profiled with (see plan_record); None for files written before.
    plan: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": BASELINE_FORMAT,
            "subject": self.subject,
            "version": self.version,
            "created_at": self.created_at,
            "source": self.source,
            "profile": self.profile.to_json(),
        }
        if self.plan is not None:
            out["plan"] = self.plan
        return out

    @classmethod
    def from_file(cls, path: Path) -> Baseline:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ContractError(path, f"cannot read baseline: {exc.strerror}") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise ContractError(path, f"baseline is not valid JSON: {exc}") from exc
        try:
            if data.get("format") != BASELINE_FORMAT:
                raise ValueError(f"unsupported baseline format {data.get('format')!r}")
            baseline = cls(
                subject=str(data["subject"]),
                profile=WindowProfile.from_json(data["profile"]),
                source=dict(data["source"]),
                version=int(data["version"]),
                created_at=str(data["created_at"]),
                path=path,
                plan=_plan_json(data.get("plan")),
            )
        except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
            raise ContractError(path, f"not a usable baseline: {exc!r}") from exc
        match = _FILE.match(path.name)
        if match is None or int(match.group(1)) != baseline.version:
            raise ContractError(path, f"file name does not match version {baseline.version}")
        if path.parent.name != baseline.subject:
            raise ContractError(
                path, f"lives in {path.parent.name}/ but is for subject {baseline.subject!r}"
            )
        return baseline

    def describe(self) -> dict[str, Any]:
        """Which baseline an alert was checked against (no profile data)."""
        return {"version": self.version, "created_at": self.created_at, "source": self.source}

    def categorical_fields(self) -> set[str]:
        """Fields profiled with category counts: from the recorded plan, or (older files)
        the fields whose profile holds a category sketch."""
        if self.plan is not None:
            return set(self.plan["categorical"])
        return {p for p, fp in self.profile.fields.items() if fp.categories is not None}

    def fields_with_values(self) -> list[str]:
        """Fields whose category values this baseline stores in clear text."""
        return sorted(
            p
            for p, fp in self.profile.fields.items()
            if fp.categories is not None and not fp.categories.is_empty()
        )


def plan_record(plan: SubjectPlan) -> dict[str, Any]:
    """What a baseline keeps of the plan it was profiled with."""
    return {"categorical": sorted(f.path for f in plan.fields if f.categories)}


def _plan_json(data: Any) -> dict[str, Any] | None:
    if data is None:
        return None
    return {"categorical": [str(p) for p in data["categorical"]]}


_CATEGORY_TYPES = ("string", "integer", "boolean")


def plan_mismatch(baseline: Baseline, plan: SubjectPlan) -> dict[str, list[str]] | None:
    """Fields whose category tracking differs between the baseline and the plan in force.

    `no_baseline_categories`: the plan keeps category counts but the baseline has none, so
    new_category, js and chi2 cannot fire (e.g. built without `--config`, so a field made
    `categorical: true` under `monitoring.fields` was profiled as a plain number).
    `not_tracked`: the baseline has category counts the windows no longer collect. None when
    the two agree.
    """
    have = baseline.categorical_fields()
    want = {f.path for f in plan.fields if f.categories}
    missing = want - have
    if baseline.plan is None:  # inferred: a field without category-typed values had no sketch
        missing = {
            p
            for p in missing
            if (fp := baseline.profile.fields.get(p)) is not None
            and any(fp.types.get(t) for t in _CATEGORY_TYPES)
        }
    extra = (have & {f.path for f in plan.fields}) - want
    if not missing and not extra:
        return None
    return {"no_baseline_categories": sorted(missing), "not_tracked": sorted(extra)}


def describe_mismatch(mismatch: dict[str, list[str]]) -> str:
    parts = []
    if mismatch["no_baseline_categories"]:
        parts.append(
            "it has no category counts for "
            + ", ".join(mismatch["no_baseline_categories"])
            + " (new_category, js and chi2 cannot fire for them)"
        )
    if mismatch["not_tracked"]:
        parts.append(
            "it has category counts for "
            + ", ".join(mismatch["not_tracked"])
            + " that the current plan no longer collects"
        )
    return (
        "baseline was profiled with other monitoring settings: "
        + "; ".join(parts)
        + "; rebuild it with `guard baseline build --config guard.yaml`"
        " (or learn a new one: monitoring.baseline.source: learn)"
    )


def baseline_files(schemas_dir: Path, subject: str) -> dict[int, Path]:
    folder = schemas_dir / subject
    found: dict[int, Path] = {}
    if folder.is_dir():
        for path in folder.iterdir():
            match = _FILE.match(path.name)
            if match:
                found[int(match.group(1))] = path
    return found


def load_baseline(schemas_dir: Path, subject: str, version: int | None = None) -> Baseline | None:
    """The pinned version, else the newest; None when the subject has no baseline file."""
    files = baseline_files(schemas_dir, subject)
    if version is not None:
        if version not in files:
            raise ContractError(
                schemas_dir / subject / f"baseline-v{version}.json", "baseline does not exist"
            )
        return Baseline.from_file(files[version])
    if not files:
        return None
    return Baseline.from_file(files[max(files)])


def learned_dir(settings: GuardSettings) -> Path:
    """Where learned baselines are kept: state, under `state_dir` (they hold raw values)."""
    return settings.state_dir / "baselines"


def find_baseline(settings: GuardSettings, subject: str) -> Baseline | None:
    """A baseline under `schemas_dir`, else one learned by an earlier run under `state_dir`."""
    version = settings.monitoring.baseline.version
    found = load_baseline(settings.schemas_dir, subject, version)
    if found is None and learned_dir(settings).is_dir():
        found = load_baseline(learned_dir(settings), subject, version)
    return found


def save_baseline(schemas_dir: Path, baseline: Baseline, out: Path | None = None) -> Path:
    """Write the baseline under the next free version (exclusive create: never overwrites)."""
    folder = schemas_dir / baseline.subject
    if out is not None:
        baseline.version = baseline.version or 1
        _write_new(out, baseline, exclusive=False)
        return out
    if not folder.is_dir():
        raise InputError(f"{folder}: no such subject directory")
    version = max(baseline_files(schemas_dir, baseline.subject), default=0) + 1
    while True:
        path = folder / f"baseline-v{version}.json"
        baseline.version = version
        try:
            _write_new(path, baseline, exclusive=True)
        except FileExistsError:  # another instance saved this version first
            version += 1
            continue
        baseline.path = path
        return path


def _write_new(path: Path, baseline: Baseline, exclusive: bool) -> None:
    text = json.dumps(baseline.to_json(), indent=1, sort_keys=True) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        if exclusive:
            os.link(tmp, path)  # atomic, and fails if the version is taken
        else:
            os.replace(tmp, path)
    except FileExistsError:
        raise
    except OSError as exc:
        raise InputError(f"{path}: cannot write baseline: {exc.strerror}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _chunks(items: Iterable[Verdict], size: int) -> Iterator[list[Observation]]:
    chunk: list[Observation] = []
    for verdict in items:
        chunk.append((None, None, verdict))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def build_from_values(plan: SubjectPlan, verdicts: Iterable[Verdict]) -> WindowProfile:
    profile = WindowProfile.for_plan(plan)
    for chunk in _chunks(verdicts, _CHUNK):
        profile.add(plan, chunk)
    return profile


def build_from_files(
    registry: Registry,
    plan: SubjectPlan,
    files: list[str],
    accepted: AcceptedVersions = "all",
    limits: Limits | None = None,
) -> Baseline:
    """Profile every record of the files (JSON Lines, or JSON arrays) into a new baseline."""
    from guard.filemode.reader import read_records

    validator = RecordValidator(registry.subject(plan.subject), accepted, limits)
    verdicts = (validator.validate(rec.value) for rec in read_records(files))
    profile = build_from_values(plan, verdicts)
    if profile.records == 0:
        raise InputError("no records in " + ", ".join(files))
    if profile.profiled == 0:  # a baseline of no fields: every window 'insufficient data'
        raise InputError(
            f"no JSON object records in {', '.join(files)} "
            f"({profile.records} records, none decodes to a JSON object)"
        )
    source = {"kind": "files", "files": [Path(f).name for f in files], "records": profile.records}
    return Baseline(plan.subject, profile, source, plan=plan_record(plan))


def learned(plan: SubjectPlan, profile: WindowProfile, instance: str) -> Baseline:
    source = {
        "kind": "learned",
        "instance": instance,
        "windows": profile.windows,
        "records": profile.records,
    }
    return Baseline(plan.subject, profile, source, plan=plan_record(plan))
