"""`guard drift status`: the current state per subject and field, merged across instances.

Reads the compacted profiles topic and takes each instance's newest *closed* window: the
one the service checked. Those are merged per subject and checked against the subject's
baseline with the same checks the service runs; below `min_records` the state is
"insufficient data", not "ok". The open window after it (a young snapshot) is shown apart,
as in progress, and is not checked. Windows older than `--max-age` (by default
STALE_WINDOWS window lengths, at least a few minutes, see profiles_topic.py) are left out
and their instances listed as stale.

Value-free unless `expose_values: true`: numeric fields show means and spreads,
categorical fields show counts; quantiles and category names need the opt-in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from guard.config.settings import GuardSettings
from guard.contracts.registry import Registry
from guard.monitoring.alerts import WINDOW_FIELD, Alert
from guard.monitoring.baseline import Baseline, describe_mismatch, find_baseline, plan_mismatch
from guard.monitoring.drift import Assessment, FieldVerdict, assess, distinct_estimate
from guard.monitoring.field_profile import FieldProfile
from guard.monitoring.plan import SubjectPlan, plan_subject
from guard.monitoring.profile import WindowProfile
from guard.monitoring.profiles_topic import current_windows, merged, read_profiles

CHECKED = ("ok", "drift")  # states in which the per-field states mean something


@dataclass
class SubjectStatus:
    plan: SubjectPlan
    merged: WindowProfile  # the newest closed window of every instance, merged
    instances: list[str]  # instances with a closed window in `merged`
    baseline: Baseline | None
    assessment: Assessment | None  # None: nothing checked (no baseline or no closed window)
    in_progress: WindowProfile | None = None  # the open windows, merged (not checked)
    open_instances: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # instances left out as too old
    mismatch: dict[str, list[str]] | None = None  # baseline profiled under another plan

    @property
    def alerts(self) -> list[Alert]:
        return [] if self.assessment is None else self.assessment.alerts

    @property
    def state(self) -> str:
        if not self.instances and not self.open_instances:
            return "no recent windows"
        if self.baseline is None:
            return "no baseline"
        if self.alerts:  # schema changes (and volume) are judged at any size
            return "drift"
        if self.merged.records < self.plan.window.min_records:
            return "insufficient data"
        return "ok"

    def to_json(self) -> dict[str, Any]:
        m = self.merged
        state = self.state
        drifted: dict[str, list[str]] = {}
        for a in self.alerts:
            drifted.setdefault(a.field, []).append(a.statistic)
        progress = None
        if self.in_progress is not None:
            progress = {
                "records": self.in_progress.records,
                "windows": self.in_progress.windows,
                "instances": self.open_instances,
                "quarantined": self.in_progress.quarantined,
            }
        return {
            "subject": m.subject,
            "state": state,
            "instances": self.instances,
            "windows": m.windows if self.instances else 0,
            "records": m.records,
            "min_records": self.plan.window.min_records,
            "valid": m.valid,
            "quarantined": m.quarantined,
            "quarantine_rate": _r(m.quarantine_rate),
            "record_rate": _r(m.record_rate()),
            "reasons": dict(m.reasons.most_common()),
            "unknown_fields": dict(m.unknown_fields.most_common()),
            "in_progress": progress,
            "stale_instances": self.stale,
            "baseline": None if self.baseline is None else self.baseline.describe(),
            "baseline_mismatch": self.mismatch,
            "window_alerts": drifted.get(WINDOW_FIELD, []),
            "alerts": [
                {
                    "field": a.field,
                    "statistic": a.statistic,
                    "value": _r(a.value),
                    "threshold": a.threshold,
                    "baseline_value": _r(a.baseline_value),
                    "current_value": _r(a.current_value),
                    "p_value": _r(a.p_value),
                    "significance_level": _r(a.significance_level),
                    "detail": dict(a.detail),
                }
                for a in self.alerts
            ],
            "fields": {
                path: _field_json(
                    fp,
                    m.profiled,
                    self.plan.expose_values,
                    None if self.assessment is None else self.assessment.fields.get(path),
                    checked=state in CHECKED,
                )
                for path, fp in m.fields.items()
            },
        }


def _r(x: float | None) -> float | None:
    return None if x is None else float(f"{x:.6g}")


def _field_json(
    fp: FieldProfile, profiled: int, expose: bool, verdict: FieldVerdict | None, checked: bool
) -> dict[str, Any]:
    """Absent (missing) and null are counted apart; distinct never exceeds the values seen."""
    drift = [] if verdict is None else verdict.statistics
    out: dict[str, Any] = {
        "state": verdict.state if checked and verdict is not None else "-",
        "drift": drift,
        "insufficient": [] if verdict is None else verdict.insufficient,
        "null_rate": _r(fp.nulls / profiled) if profiled else None,
        "missing_rate": _r(fp.missing / profiled) if profiled else None,
        "types": dict(fp.types.most_common()),
        "distinct": distinct_estimate(fp),
    }
    if fp.numeric is not None and not fp.numeric.is_empty():
        out["numeric"] = {"mean": _r(fp.numeric.mean), "std": _r(fp.numeric.std)}
        if expose:
            p05, p50, p95 = fp.numeric.get_quantiles([0.05, 0.5, 0.95])
            out["numeric"].update(p05=_r(p05), p50=_r(p50), p95=_r(p95))
    if fp.lengths is not None and not fp.lengths.is_empty():
        p50, p95 = fp.lengths.get_quantiles([0.5, 0.95])
        out["length"] = {"p50": _r(p50), "p95": _r(p95), "max": _r(fp.lengths.get_max_value())}
    counts = fp.category_counts()
    if counts is not None:
        out["categories"] = {"count": len(counts), "exact": fp.categories_exact()}
        if expose:
            out["categories"]["top"] = dict(sorted(counts.items(), key=lambda kv: -kv[1])[:10])
    return out


def collect(
    settings: GuardSettings,
    registry: Registry,
    subject: str | None = None,
    max_age_s: float | None = None,
    now: float | None = None,
) -> tuple[list[SubjectStatus], int]:
    """Statuses for every subject with profiles (or just `subject`), and unreadable records.

    `max_age_s` None: the default age limit (STALE_WINDOWS window lengths)."""
    read = read_profiles(settings)
    return statuses(read.profiles.values(), settings, registry, subject, max_age_s, now), (
        read.unreadable
    )


def statuses(
    profiles: Iterable[WindowProfile],
    settings: GuardSettings,
    registry: Registry,
    subject: str | None = None,
    max_age_s: float | None = None,
    now: float | None = None,
) -> list[SubjectStatus]:
    current = current_windows(profiles, max_age_s, now, monitoring=settings.monitoring)
    out: list[SubjectStatus] = []
    for name in sorted(set(current.subjects) | set(current.stale)):
        if subject is not None and name != subject:
            continue
        if name not in registry.subjects:
            continue  # profiles of a subject this registry does not know
        plan = plan_subject(registry.subject(name), settings.monitoring, settings.expose_values)
        slots = current.subjects.get(name, [])
        finals = [s.final for s in slots if s.final is not None]
        opens = [s.open for s in slots if s.open is not None]
        view = merged(finals) or _empty(plan)
        baseline = find_baseline(settings, name)  # schemas/, else learned under state_dir
        checked = assess(plan, view, baseline.profile) if baseline and finals else None
        out.append(
            SubjectStatus(
                plan,
                view,
                sorted(s.instance for s in slots if s.final is not None),
                baseline,
                checked,
                in_progress=merged(opens),
                open_instances=sorted(s.instance for s in slots if s.open is not None),
                stale=current.stale.get(name, []),
                mismatch=None if baseline is None else plan_mismatch(baseline, plan),
            )
        )
    return out


def _empty(plan: SubjectPlan) -> WindowProfile:
    view = WindowProfile.for_plan(plan)
    view.windows = 0
    return view


_HEADER = f"  {'field':<24} {'state':<17} {'null':>7} {'missing':>8} {'distinct':>9}  types, drift"


def render_text(statuses: list[SubjectStatus]) -> str:
    if not statuses:
        return "no window profiles found"
    lines: list[str] = []
    for status in statuses:
        s = status.to_json()
        base = s["baseline"]
        instances = f" ({', '.join(s['instances'])})" if s["instances"] else ""
        lines.append(
            f"{s['subject']}: {s['state']} - {s['records']} records in {s['windows']} "
            f"window(s) from {len(s['instances'])} instance(s){instances}; "
            f"quarantined {s['quarantined']} ({s['quarantine_rate']:.2%}); "
            f"baseline {'v' + str(base['version']) if base else 'none'}"
        )
        if s["state"] == "insufficient data":
            lines.append(
                f"  insufficient data: checks need {s['min_records']} records in closed windows"
                " (thresholds.min_records)"
            )
        progress = s["in_progress"]
        if progress is not None:
            lines.append(
                f"  in progress ({progress['records']} records): {progress['windows']} open "
                f"window(s) from {', '.join(progress['instances'])}, checked when closed"
            )
        if s["stale_instances"]:
            lines.append(
                f"  left out, no recent window (see --max-age): {', '.join(s['stale_instances'])}"
            )
        if status.mismatch is not None:
            lines.append(f"  WARNING {describe_mismatch(status.mismatch)}")
        if s["state"] == "no recent windows":
            continue
        if s["window_alerts"]:
            lines.append(f"  window drift: {', '.join(s['window_alerts'])}")
        for path in sorted(s["unknown_fields"]):
            lines.append(f"  undeclared field {path}: {s['unknown_fields'][path]} records")
        lines.append(_HEADER)
        for path, f in s["fields"].items():
            types = ",".join(f"{t}:{n}" for t, n in f["types"].items()) or "-"
            drift = f" [{', '.join(f['drift'])}]" if f["drift"] else ""
            lines.append(
                f"  {path:<24} {f['state']:<17} {_pct(f['null_rate']):>7} "
                f"{_pct(f['missing_rate']):>8} {f['distinct']:>9}  {types}{drift}"
            )
        for a in s["alerts"]:
            lines.append(
                f"  ALERT {a['field']} {a['statistic']}={a['value']} (threshold {a['threshold']}; "
                f"baseline {a['baseline_value']}, now {a['current_value']}; "
                f"p-value {a['p_value']}, significance level {a['significance_level']})"
            )
    return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"
