"""Which fields of a subject are profiled, and how: derived once from its contracts.

Every field declared by an active version is profiled (the newest version's declaration wins
when versions disagree), nested object fields as dotted paths (`shipping.country`). An array
is profiled as one field (presence, nulls, types and its length distribution), not per item.
Undeclared fields are counted per window by path, from the validator's report for accepted
records and from the newest contract's shape for quarantined ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from guard.config.settings import MonitoringSettings, SketchSettings
from guard.contracts.registry import Subject
from guard.contracts.spec import DriftSpec, FieldSpec, check_drift
from guard.contracts.unknown import Shape
from guard.errors import ConfigError
from guard.monitoring.thresholds import (
    FieldThresholds,
    WindowThresholds,
    resolve_field,
    resolve_window,
)


@dataclass(frozen=True, slots=True)
class FieldPlan:
    path: str
    parts: tuple[str, ...]
    type: str  # the declared type
    categories: bool  # keep a frequent-items sketch (enum-like candidates only)
    thresholds: FieldThresholds


@dataclass(frozen=True)
class SubjectPlan:
    subject: str
    fields: tuple[FieldPlan, ...]
    shape: Shape  # newest active contract: finds undeclared paths in quarantined records
    window: WindowThresholds
    sketch: SketchSettings
    expose_values: bool = False

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.fields)


def _tracks_categories(spec: FieldSpec, *layers: DriftSpec | None) -> bool:
    for layer in layers:  # most specific first
        if layer is not None and layer.categorical is not None:
            return layer.categorical
    if spec.type == "boolean":
        return True
    if spec.type == "string":
        return spec.format is None  # uuids, emails, URIs and timestamps are not categories
    return spec.type == "integer" and spec.enum is not None


def _walk(fields: dict[str, FieldSpec], prefix: tuple[str, ...]) -> dict[str, FieldSpec]:
    out: dict[str, FieldSpec] = {}
    for name, spec in fields.items():
        parts = (*prefix, name)
        out[".".join(parts)] = spec
        if spec.type == "object" and spec.fields:
            out.update(_walk(spec.fields, parts))
    return out


def plan_subject(
    subject: Subject, monitoring: MonitoringSettings, expose_values: bool = False
) -> SubjectPlan:
    active = subject.active or sorted(subject.versions, reverse=True)
    declared: dict[str, FieldSpec] = {}
    for version in reversed(active):  # oldest first, so newer declarations win
        declared.update(_walk(subject.versions[version].spec.fields, ()))
    overrides = monitoring.fields.get(subject.name, {})
    for path, override in overrides.items():
        where = f"monitoring.fields.{subject.name}.{path}"
        if path not in declared:
            raise ConfigError(f"{where}: subject {subject.name!r} declares no field {path!r}")
        try:
            check_drift(declared[path].type, override)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    defaults = monitoring.thresholds
    plans = tuple(
        FieldPlan(
            path=path,
            parts=tuple(path.split(".")),
            type=spec.type,
            categories=_tracks_categories(spec, overrides.get(path), spec.drift, defaults),
            thresholds=resolve_field(defaults, spec.drift, overrides.get(path)),
        )
        for path, spec in declared.items()
    )
    newest = subject.versions[active[0]]
    return SubjectPlan(
        subject=subject.name,
        fields=plans,
        shape=newest.shape,
        window=resolve_window(monitoring.thresholds),
        sketch=monitoring.sketch,
        expose_values=expose_values,
    )
