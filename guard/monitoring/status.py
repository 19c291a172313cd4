"""`guard drift status`: the current state per subject and field, merged across instances.

Reads the compacted profiles topic, takes each instance's latest window, merges them per
subject, and checks the merged view against the subject's baseline with the same checks the
service runs. Value-free unless `expose_values: true`: numeric fields show means and
spreads, categorical fields show counts; quantiles and category names need the opt-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from guard.config.settings import GuardSettings
from guard.contracts.registry import Registry
from guard.monitoring.alerts import WINDOW_FIELD, Alert
from guard.monitoring.baseline import Baseline, load_baseline
from guard.monitoring.drift import GRID, check_window
from guard.monitoring.field_profile import FieldProfile
from guard.monitoring.plan import SubjectPlan, plan_subject
from guard.monitoring.profile import WindowProfile
from guard.monitoring.profiles_topic import latest_per_instance, merged_view, read_profiles


@dataclass
class SubjectStatus:
    plan: SubjectPlan
    merged: WindowProfile
    instances: list[str]
    baseline: Baseline | None
    alerts: list[Alert]

    def to_json(self) -> dict[str, Any]:
        m = self.merged
        drifted: dict[str, list[str]] = {}
        for a in self.alerts:
            drifted.setdefault(a.field, []).append(a.statistic)
        return {
            "subject": m.subject,
            "instances": self.instances,
            "windows": m.windows,
            "records": m.records,
            "valid": m.valid,
            "quarantined": m.quarantined,
            "quarantine_rate": _r(m.quarantine_rate),
            "record_rate": _r(m.record_rate()),
            "reasons": dict(m.reasons.most_common()),
            "unknown_fields": dict(m.unknown_fields.most_common()),
            "baseline": None if self.baseline is None else self.baseline.describe(),
            "state": "drift" if self.alerts else ("ok" if self.baseline else "no baseline"),
            "window_alerts": drifted.get(WINDOW_FIELD, []),
            "alerts": [
                {
                    "field": a.field,
                    "statistic": a.statistic,
                    "value": _r(a.value),
                    "threshold": a.threshold,
                    "baseline_value": _r(a.baseline_value),
                    "current_value": _r(a.current_value),
                    "detail": dict(a.detail),
                }
                for a in self.alerts
            ],
            "fields": {
                path: _field_json(fp, m.profiled, self.plan.expose_values, drifted.get(path, []))
                for path, fp in m.fields.items()
            },
        }


def _r(x: float | None) -> float | None:
    return None if x is None else float(f"{x:.6g}")


def _field_json(fp: FieldProfile, profiled: int, expose: bool, drift: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "state": "drift" if drift else "ok",
        "drift": drift,
        "null_rate": _r(fp.nulls / profiled) if profiled else None,
        "missing_rate": _r(fp.missing / profiled) if profiled else None,
        "types": dict(fp.types.most_common()),
        "distinct": round(fp.distinct_estimate()),
    }
    if fp.numeric is not None and not fp.numeric.is_empty():
        grid = np.asarray(fp.numeric.get_quantiles(GRID), dtype=np.float64)
        out["numeric"] = {"mean": _r(float(grid.mean())), "std": _r(float(grid.std()))}
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
) -> tuple[list[SubjectStatus], int]:
    """Statuses for every subject with profiles (or just `subject`), and unreadable records."""
    read = read_profiles(settings)
    groups = latest_per_instance(read.profiles.values(), max_age_s)
    merged = merged_view(groups)
    out: list[SubjectStatus] = []
    for name in sorted(merged):
        if subject is not None and name != subject:
            continue
        if name not in registry.subjects:
            continue  # profiles of a subject this registry does not know
        plan = plan_subject(registry.subject(name), settings.monitoring, settings.expose_values)
        cfg = settings.monitoring.baseline
        baseline = load_baseline(settings.schemas_dir, name, cfg.version)
        alerts = check_window(plan, merged[name], baseline.profile) if baseline else []
        instances = sorted({p.meta.instance for p in groups[name] if p.meta is not None})
        out.append(SubjectStatus(plan, merged[name], instances, baseline, alerts))
    return out, read.unreadable


_HEADER = f"  {'field':<24} {'state':<6} {'null':>7} {'missing':>8} {'distinct':>9}  types, drift"


def render_text(statuses: list[SubjectStatus]) -> str:
    if not statuses:
        return "no window profiles found"
    lines: list[str] = []
    for status in statuses:
        s = status.to_json()
        base = s["baseline"]
        lines.append(
            f"{s['subject']}: {s['state']} - {s['records']} records in {s['windows']} window(s) "
            f"from {len(s['instances'])} instance(s) ({', '.join(s['instances'])}); "
            f"quarantined {s['quarantined']} ({s['quarantine_rate']:.2%}); "
            f"baseline {'v' + str(base['version']) if base else 'none'}"
        )
        if s["window_alerts"]:
            lines.append(f"  window drift: {', '.join(s['window_alerts'])}")
        for path in sorted(s["unknown_fields"]):
            lines.append(f"  undeclared field {path}: {s['unknown_fields'][path]} records")
        lines.append(_HEADER)
        for path, f in s["fields"].items():
            types = ",".join(f"{t}:{n}" for t, n in f["types"].items()) or "-"
            drift = f" [{', '.join(f['drift'])}]" if f["drift"] else ""
            lines.append(
                f"  {path:<24} {f['state']:<6} {_pct(f['null_rate']):>7} "
                f"{_pct(f['missing_rate']):>8} {f['distinct']:>9}  {types}{drift}"
            )
        for a in s["alerts"]:
            lines.append(
                f"  ALERT {a['field']} {a['statistic']}={a['value']} (threshold {a['threshold']}; "
                f"baseline {a['baseline_value']}, now {a['current_value']})"
            )
    return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"
