"""Build a drift report: baseline vs current records, judged against one contract version.

Four independent views of the same data, all derived from the contract file:
scipy drift statistics per field (`stats`), a Great Expectations suite run on the current
data (`gx_suite`, `gx_run`), pandera failure cases (`pandera_run`), and the guard's own
verdicts (what production would quarantine). The report drifts, and the command exits 1,
when fields drift (more than `drift_share` of them), when an undeclared field appears that
the baseline did not have, when current records break the contract, or when some current
lines are not JSON objects at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guard.contracts.compat import Break
from guard.contracts.diff import diff_specs, render_diff
from guard.contracts.registry import Registry
from guard.contracts.spec import ContractSpec
from guard.contracts.suggest import Proposal, propose_next, to_yaml
from guard.errors import InputError
from guard.reports.flatten import Layout, Table, flatten, layout
from guard.reports.frames import typed_frame
from guard.reports.gx_run import run_suite
from guard.reports.gx_suite import Compared, GxOutcome, GxResult, build_suite
from guard.reports.jsonsafe import json_safe
from guard.reports.pandera_run import ContractFailures, run_pandera
from guard.reports.records import Batch, check_record_file, load_batch
from guard.reports.stats import FieldDrift, Thresholds, classify, compare, side
from guard.validation.validator import RecordValidator


@dataclass(frozen=True)
class Undeclared:
    """A field the contract does not declare, seen in the data."""

    field: str
    table: str
    policy: str  # the unknown_fields policy where it was found
    baseline_share: float
    current_share: float

    @property
    def new(self) -> bool:
        return self.current_share > 0 and self.baseline_share == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "table": self.table or None,
            "policy": self.policy,
            "baseline_share": round(self.baseline_share, 6),
            "current_share": round(self.current_share, 6),
            "new": self.new,
        }


@dataclass(frozen=True)
class SuggestedFix:
    """The next contract version the current data asks for, and what was not applied.

    `version`, `yaml` and `diff` are None when no change can be applied: then `proposals`
    only lists what needs a person (values out of range, names a contract cannot hold, ...).
    """

    version: int | None
    yaml: str | None
    diff: str | None
    proposals: list[Proposal]
    breaks: list[Break]
    mode: str

    @property
    def not_applied(self) -> list[Proposal]:
        return [p for p in self.proposals if not p.applied]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "contract": self.yaml,
            "diff": self.diff,
            "proposals": [p.to_json() for p in self.proposals],
            "compatibility_mode": self.mode,
            "compatibility_breaks": [b.to_json() for b in self.breaks],
        }


@dataclass
class DriftReport:
    subject: str
    version: int
    baseline: Batch
    current: Batch
    thresholds: Thresholds
    fields: list[FieldDrift]
    undeclared: list[Undeclared]
    contract: ContractFailures
    guard_reasons: Counter[str]
    guard_rejected: int
    gx: GxOutcome | None = None
    fix: SuggestedFix | None = None
    plots: dict[str, str] = field(default_factory=dict)  # field -> inline SVG

    def gx_for(self, field_name: str) -> list[GxResult]:
        return [r for r in (self.gx.results if self.gx else []) if r.column == field_name]

    def contract_failures(self, field_name: str) -> int:
        """pandera failure cases plus failed contract-derived GX expectations, for one field."""
        cases = sum(n for (f, _), n in self.contract.by_check.items() if f == field_name)
        gx = sum(1 for r in self.gx_for(field_name) if r.source == "contract" and not r.success)
        return cases + gx

    def status(self, d: FieldDrift) -> str:
        """'drift', 'contract' (records break the contract there) or 'ok'."""
        if d.drifted:
            return "drift"
        return "contract" if self.contract_failures(d.field) else "ok"

    @property
    def drifted_fields(self) -> list[FieldDrift]:
        return [f for f in self.fields if f.drifted]

    @property
    def reasons(self) -> list[str]:
        out: list[str] = []
        drifted = len(self.drifted_fields)
        if drifted and drifted / max(len(self.fields), 1) > self.thresholds.drift_share:
            out.append("fields_drifted")
        if any(u.new for u in self.undeclared):
            out.append("new_undeclared_fields")
        gx_contract = any(
            not r.success for r in (self.gx.results if self.gx else []) if r.source == "contract"
        )
        if self.contract.total or gx_contract or self.guard_rejected:
            out.append("contract_failures")
        if self.current.unreadable:
            out.append("unreadable_records")
        return out

    @property
    def drift(self) -> bool:
        return bool(self.reasons)

    def to_json(self, out_dir: Path | None = None) -> dict[str, Any]:
        """The whole report as JSON-safe data (non-finite numbers as None)."""
        docs = None
        if self.gx is not None:
            docs = str(_relative(self.gx.data_docs, out_dir))
        data: dict[str, Any] = {
            "subject": self.subject,
            "version": self.version,
            "verdict": "drift" if self.drift else "no_drift",
            "reasons": self.reasons,
            "thresholds": self.thresholds.to_json(),
            "baseline": _batch_json(self.baseline),
            "current": _batch_json(self.current),
            "fields": [
                f.to_json()
                | {
                    "status": self.status(f),
                    "contract_failures": self.contract_failures(f.field),
                    "gx": _gx_json(self.gx_for(f.field)),
                }
                for f in self.fields
            ],
            "undeclared_fields": [u.to_json() for u in self.undeclared],
            "contract": self.contract.to_json()
            | {
                "guard_rejected": self.guard_rejected,
                "guard_reasons": dict(self.guard_reasons.most_common()),
            },
            "great_expectations": None
            if self.gx is None
            else {
                "data_docs": docs,
                "evaluated": len(self.gx.results),
                "successful": sum(r.success for r in self.gx.results),
                "results": [r.to_json() for r in self.gx.results],
            },
            "suggested_fix": self.fix.to_json() if self.fix else None,
        }
        safe: dict[str, Any] = json_safe(data)
        return safe


def build_report(
    registry: Registry,
    schemas_dir: Path,
    subject: str,
    version: int | None,
    baseline_paths: Sequence[str],
    current_paths: Sequence[str],
    out_dir: Path,
    thresholds: Thresholds,
    show_values: bool = False,
) -> DriftReport:
    subj = registry.subject(subject)
    if version is None:
        version = subj.latest
    if version not in subj.versions:
        raise InputError(f"subject {subject!r} has no version {version}")
    spec = subj.versions[version].spec
    for path in baseline_paths:
        check_record_file(path, "baseline")
    baseline = load_batch(baseline_paths, "baseline", strict=True)
    current = load_batch(current_paths, "current", strict=False)
    lay = layout(spec)
    b_tables, c_tables = flatten(baseline.records, spec), flatten(current.records, spec)
    compared, drifts = _compare(lay, b_tables, c_tables, thresholds)
    contract = run_pandera(spec, c_tables, current.origins, show_values)
    rejected, reasons = _guard_verdicts(registry, subject, version, current)
    report = DriftReport(
        subject,
        version,
        baseline,
        current,
        thresholds,
        drifts,
        _undeclared(lay, b_tables, c_tables),
        contract,
        reasons,
        rejected,
    )
    report.gx = _run_gx(out_dir, spec, compared, c_tables, thresholds, show_values)
    for d in drifts:
        failed = [r for r in report.gx_for(d.field) if r.source == "baseline" and not r.success]
        d.reasons.extend(f"gx:{_SHORT.get(r.expectation, r.expectation)}" for r in failed)
    if report.drift:
        report.fix = _suggest_fix(registry, schemas_dir, subject, current)
    return report


_SHORT = {
    "expect_column_proportion_of_non_null_values_to_be_between": "non_null_share",
    "expect_column_quantile_values_to_be_between": "quantiles",
    "expect_column_kl_divergence_to_be_less_than": "kl_divergence",
}


def _compare(
    lay: Layout, b_tables: dict[str, Table], c_tables: dict[str, Table], limits: Thresholds
) -> tuple[list[Compared], list[FieldDrift]]:
    compared: list[Compared] = []
    drifts: list[FieldDrift] = []
    for col in lay.columns:
        how = classify(col, b_tables[col.table], limits)
        if how is None:
            continue
        kind, measure = how
        b = side(b_tables[col.table].column(col.path), col, kind, measure)
        c = side(c_tables[col.table].column(col.path), col, kind, measure)
        compared.append(Compared(col, kind, measure, b, c))
        drifts.append(compare(col, kind, measure, b, c, limits))
    return compared, drifts


def _run_gx(
    out_dir: Path,
    spec: ContractSpec,
    compared: list[Compared],
    tables: dict[str, Table],
    limits: Thresholds,
    show_values: bool,
) -> GxOutcome:
    suite = build_suite(compared, limits)
    frames = {
        name: typed_frame(table, [c for c in compared if c.column.table == name])
        for name, table in tables.items()
    }
    return run_suite(out_dir, f"{spec.subject}.v{spec.version}", frames, suite, show_values)


def _undeclared(
    lay: Layout, b_tables: dict[str, Table], c_tables: dict[str, Table]
) -> list[Undeclared]:
    out: list[Undeclared] = []
    for name in lay.tables:
        b, c = b_tables[name], c_tables[name]
        for path in sorted(b.undeclared.keys() | c.undeclared.keys()):
            levels = [lv for lv in lay.levels if lv.table == name and path.startswith(lv.prefix)]
            policy = max(levels, key=lambda lv: len(lv.prefix)).policy if levels else "allow"
            out.append(
                Undeclared(
                    path,
                    name,
                    policy,
                    b.undeclared.get(path, 0) / max(len(b), 1),
                    c.undeclared.get(path, 0) / max(len(c), 1),
                )
            )
    return out


def _guard_verdicts(
    registry: Registry, subject: str, version: int, current: Batch
) -> tuple[int, Counter[str]]:
    """What the guard itself would do with the current records, checked against `version`."""
    validator = RecordValidator(registry.subject(subject), [version])
    reasons: Counter[str] = Counter(u.code for u in current.unreadable)
    rejected = len(current.unreadable)
    for raw in current.raw:
        verdict = validator.validate(raw)
        if not verdict.ok:
            rejected += 1
            reasons.update(verdict.reasons)
    return rejected, reasons


def _suggest_fix(
    registry: Registry, schemas_dir: Path, subject: str, current: Batch
) -> SuggestedFix | None:
    proposal = propose_next(registry.subject(subject), schemas_dir, current.records)
    latest, result, mode = proposal.latest, proposal.suggestion, proposal.mode
    if result.spec is None:
        if not result.proposals:
            return None
        return SuggestedFix(None, None, None, result.proposals, [], mode)
    return SuggestedFix(
        result.spec.version,
        to_yaml(result.spec),
        render_diff(latest, result.spec, diff_specs(latest, result.spec)),
        result.proposals,
        proposal.breaks,
        mode,
    )


def _batch_json(batch: Batch) -> dict[str, Any]:
    return {
        "files": batch.files,
        "records": len(batch.records),
        "unreadable": len(batch.unreadable),
        "unreadable_lines": [u.to_json() for u in batch.unreadable[:100]],
    }


def _gx_json(results: list[GxResult]) -> list[dict[str, Any]]:
    return [r.to_json() for r in results]


def _relative(path: Path, base: Path | None) -> Path:
    if base is None:
        return path
    try:
        return path.resolve().relative_to(base.resolve())
    except ValueError:
        return path
