"""Great Expectations beside the engine's verdict: the suite generated from the contract and
the engine's rules, run on the uniform sample of current records the profiling kept."""

from __future__ import annotations

from pathlib import Path

from guard.contracts.rule_notes import enforced_by_guard
from guard.contracts.spec import ContractSpec
from guard.monitoring.plan import SubjectPlan
from guard.reports.findings import FieldRow
from guard.reports.frames import typed_frame
from guard.reports.gx_run import run_suite
from guard.reports.gx_suite import Column, GxOutcome, build_suite
from guard.reports.profiles import ProfiledInput


def corroborate(
    out_dir: Path,
    spec: ContractSpec,
    plan: SubjectPlan,
    rows: list[FieldRow],
    base: ProfiledInput,
    cur: ProfiledInput,
    show_values: bool,
) -> GxOutcome:
    thresholds = {f.path: f.thresholds for f in plan.fields}
    columns = [
        Column(
            r.path,
            r.spec,
            _required(spec, r.path),
            r.verdict.compared_by,
            thresholds[r.path],
            r.baseline,
            base.profile.profiled,
        )
        for r in rows
    ]
    frame = typed_frame([k.record for k in cur.sample], columns)
    name = f"{spec.subject}.v{spec.version}"
    meta = {"enforced_by_guard": enforced_by_guard(spec)} if spec.rules else None
    outcome = run_suite(out_dir, name, frame, build_suite(columns), show_values, meta)
    for r in rows:
        r.gx = [g for g in outcome.results if g.column == r.path]
    return outcome


def _required(spec: ContractSpec, path: str) -> bool:
    """Whether every valid record has a non-null value at `path` (every level required)."""
    fields = spec.fields
    for name in path.split("."):
        fs = fields.get(name) if fields else None
        if fs is None or not fs.required or fs.nullable:
            return False
        fields = fs.fields or {}
    return True
