"""Build a drift report: baseline vs current records, judged by the stream's drift engine.

Both inputs are profiled with the stream monitor's own profiling code (`profiles.py`) and
compared by its engine (`guard.monitoring.drift.assess`): one rule set, the same verdict per
field as the service gives the same data, and memory bounded by fields x sketch size. Beside
the verdict, as corroboration and never as a trigger of their own, a Great Expectations
suite generated from the same rules runs on a uniform sample of the current records, and
pandera lists failure cases of the records the guard rejects.

The report drifts, and the command exits 1, when more than `drift_share` of the fields
drift, when an undeclared field appears that the baseline did not have or one the baseline
had (in at least `missing_fields` of its records) is gone, when current
records break the contract (the guard would quarantine them), or when current lines are
not JSON objects at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guard.config.settings import DriftThresholdSettings, MonitoringSettings
from guard.contracts.registry import Registry
from guard.contracts.spec import ContractSpec
from guard.errors import InputError
from guard.monitoring.drift import Assessment, assess
from guard.monitoring.plan import SubjectPlan, plan_subject
from guard.reports.findings import FieldRow, SuggestedFix, Undeclared
from guard.reports.flatten import flatten, layout
from guard.reports.gx_suite import GxOutcome
from guard.reports.jsonsafe import json_safe
from guard.reports.pandera_run import ContractFailures, run_pandera
from guard.reports.profiles import ProfiledInput, profile_files
from guard.reports.records import check_record_file
from guard.reports.rules_section import rules_json
from guard.reports.summary import side_summary
from guard.validation.validator import RecordValidator


@dataclass
class DriftReport:
    subject: str
    version: int
    plan: SubjectPlan
    baseline: ProfiledInput
    current: ProfiledInput
    assessment: Assessment
    rows: list[FieldRow]
    undeclared: list[Undeclared]
    contract: ContractFailures
    drift_share: float
    gx: GxOutcome | None = None
    fix: SuggestedFix | None = None
    plots: dict[str, str] = field(default_factory=dict)  # field -> inline SVG
    # (name, on_failure) of the version's contract rules, in file order.
    declared_rules: list[tuple[str, str]] = field(default_factory=list)

    @property
    def drifted_fields(self) -> list[FieldRow]:
        return [r for r in self.rows if r.verdict.state == "drift"]

    @property
    def contract_rejected(self) -> int:
        """Current records (JSON objects) the guard would quarantine."""
        return self.current.rejected - self.current.unreadable

    @property
    def reasons(self) -> list[str]:
        out: list[str] = []
        drifted = len(self.drifted_fields)
        if drifted and drifted / max(len(self.rows), 1) > self.drift_share:
            out.append("fields_drifted")
        new_fields = any(a.statistic == "new_fields" for a in self.assessment.window.alerts)
        if new_fields or any(u.new and u.state == "drift" for u in self.undeclared):
            out.append("new_undeclared_fields")
        if any(not u.new and u.state == "drift" for u in self.undeclared):
            out.append("vanished_undeclared_fields")  # the stream alerts missing_field
        if self.contract_rejected:
            out.append("contract_failures")
        if self.current.unreadable:
            out.append("unreadable_records")
        return out

    @property
    def drift(self) -> bool:
        return bool(self.reasons)

    @property
    def verdict(self) -> str:
        if self.drift:
            return "drift"
        return "insufficient_data" if self.assessment.state == "insufficient data" else "no_drift"

    def to_json(self, out_dir: Path | None = None) -> dict[str, Any]:
        """The whole report as JSON-safe data (non-finite numbers as None)."""
        a = self.assessment
        data: dict[str, Any] = {
            "subject": self.subject,
            "version": self.version,
            "verdict": self.verdict,
            "reasons": self.reasons,
            "engine": {
                "state": a.state,
                "tests": a.tests,
                "family_wise_p_value": a.alpha,
                "min_records": self.plan.window.min_records,
                "min_values": self.plan.window.min_values,
            },
            "thresholds": thresholds_json(self.plan) | {"drift_share": self.drift_share},
            "baseline": self.baseline.to_json(),
            "current": self.current.to_json(),
            "window": a.window.to_json() | {"alerts": [_alert(x) for x in a.window.alerts]},
            "fields": [self._row_json(r) for r in self.rows],
            "undeclared_fields": [u.to_json() for u in self.undeclared],
            "contract": self.contract.to_json()
            | {
                "guard_rejected": self.contract_rejected,
                "guard_reasons": dict(self.current.reasons.most_common()),
                "pandera_checked_records": len(self.current.rejected_sample),
                "rules": rules_json(self.current.rule_hits, self.declared_rules),
            },
            "great_expectations": None if self.gx is None else self._gx_json(out_dir),
            "suggested_fix": self.fix.to_json() if self.fix else None,
        }
        safe: dict[str, Any] = json_safe(data)
        return safe

    def _row_json(self, r: FieldRow) -> dict[str, Any]:
        expose = self.plan.expose_values
        categorical = r.verdict.compared_by == "categories"
        return {
            "field": r.path,
            "type": r.spec.type,
            "status": r.status,
            "compared_by": r.verdict.compared_by,
            "alerts": [_alert(x) for x in r.verdict.alerts],
            "insufficient": r.verdict.insufficient,
            "tests": [t.to_json() for t in r.verdict.tests],
            "baseline": side_summary(
                r.baseline, self.baseline.profile.profiled, expose, categorical
            ),
            "current": side_summary(r.current, self.current.profile.profiled, expose, categorical),
            "contract_records": r.contract_records,
            "gx": [g.to_json() for g in r.gx],
        }

    def _gx_json(self, out_dir: Path | None) -> dict[str, Any]:
        assert self.gx is not None
        return {
            "data_docs": str(_relative(self.gx.data_docs, out_dir)),
            "sample": len(self.current.sample),
            "evaluated": len(self.gx.results),
            "successful": sum(r.success for r in self.gx.results),
            "results": [r.to_json() for r in self.gx.results],
        }


def report_plan(
    registry: Registry, subject: str, thresholds: DriftThresholdSettings, show_values: bool
) -> SubjectPlan:
    """The plan the stream would use for the subject, with these thresholds."""
    monitoring = MonitoringSettings(thresholds=thresholds)
    return plan_subject(registry.subject(subject), monitoring, show_values)


def build_report(
    registry: Registry,
    schemas_dir: Path,
    subject: str,
    version: int | None,
    baseline_paths: Sequence[str],
    current_paths: Sequence[str],
    out_dir: Path,
    thresholds: DriftThresholdSettings,
    drift_share: float = 0.0,
    show_values: bool = False,
    great_expectations: bool = True,
) -> DriftReport:
    subj = registry.subject(subject)
    if version is None:
        version = subj.latest
    if version not in subj.versions:
        raise InputError(f"subject {subject!r} has no version {version}")
    spec = subj.versions[version].spec
    for path in baseline_paths:
        check_record_file(path, "baseline")
    plan = report_plan(registry, subject, thresholds, show_values)
    validator = RecordValidator(subj, [version])
    base = profile_files(plan, validator, baseline_paths, "baseline", strict=True)
    cur = profile_files(plan, validator, current_paths, "current", strict=False)
    assessment = assess(plan, cur.profile, base.profile)
    rows = _rows(plan, spec, base, cur, assessment)
    rejected = cur.rejected_sample
    contract = run_pandera(
        spec, flatten([k.record for k in rejected], spec), [k.origin for k in rejected], show_values
    )
    report = DriftReport(
        subject,
        version,
        plan,
        base,
        cur,
        assessment,
        rows,
        _undeclared(spec, base, cur, assessment),
        contract,
        drift_share,
    )
    report.declared_rules = [(r.name, r.on_failure) for r in spec.rules]
    if great_expectations:
        try:
            from guard.reports.gx_corroborate import corroborate
        except ImportError as exc:  # as the CLI says for the rest of the `reports` extra
            raise InputError(
                f"the Great Expectations corroboration needs the 'reports' extra ({exc.name} "
                "is missing): pip install 'ingest-guard[reports]', or pass --no-gx"
            ) from exc

        report.gx = corroborate(out_dir, spec, plan, report.rows, base, cur, show_values)
    if report.drift:
        from guard.reports.fix import suggest_fix

        report.fix = suggest_fix(registry, schemas_dir, subject, current_paths)
    return report


def _rows(
    plan: SubjectPlan,
    spec: ContractSpec,
    base: ProfiledInput,
    cur: ProfiledInput,
    assessment: Assessment,
) -> list[FieldRow]:
    specs = {c.path: c.spec for c in layout(spec).columns if c.table == ""}
    rows: list[FieldRow] = []
    for fplan in plan.fields:
        fs = specs.get(fplan.path)
        if fs is None:  # declared by another active version only
            continue
        rows.append(
            FieldRow(
                fplan.path,
                fs,
                assessment.fields[fplan.path],
                base.profile.fields[fplan.path],
                cur.profile.fields[fplan.path],
                cur.rejected_fields.get(fplan.path, 0),
                base.profile.profiled,
                cur.profile.profiled,
            )
        )
    return rows


def _undeclared(
    spec: ContractSpec, base: ProfiledInput, cur: ProfiledInput, assessment: Assessment
) -> list[Undeclared]:
    levels = layout(spec).levels
    n_b, n_c = max(base.profile.profiled, 1), max(cur.profile.profiled, 1)
    out: list[Undeclared] = []
    unknown_b, unknown_c = base.profile.unknown_fields, cur.profile.unknown_fields
    for path in sorted(unknown_b.keys() | unknown_c.keys()):
        where = [lv for lv in levels if path.startswith(lv.prefix)]
        policy = max(where, key=lambda lv: len(lv.prefix)).policy if where else "allow"
        verdict = assessment.undeclared.get(path)
        state = verdict.state if verdict is not None else "ok"
        out.append(Undeclared(path, policy, unknown_b[path] / n_b, unknown_c[path] / n_c, state))
    return out


def thresholds_json(plan: SubjectPlan) -> dict[str, Any]:
    w = plan.window
    return {
        "p_value": w.p_value,
        "min_records": w.min_records,
        "min_values": w.min_values,
        "categorical_max": w.categorical_max,
        "missing_fields": w.missing_fields,
        "new_fields": w.new_fields,
    }


def _alert(a: Any) -> dict[str, Any]:
    return {
        "statistic": a.statistic,
        "value": a.value,
        "threshold": a.threshold,
        "baseline_value": a.baseline_value,
        "current_value": a.current_value,
        "p_value": a.p_value,
        "significance_level": a.significance_level,
        "detail": dict(a.detail),
    }


def _relative(path: Path, base: Path | None) -> Path:
    if base is None:
        return path
    try:
        return path.resolve().relative_to(base.resolve())
    except ValueError:
        return path
