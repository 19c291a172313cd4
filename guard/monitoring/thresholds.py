"""Drift thresholds, resolved once per field: configured defaults, then the contract's
`drift:` for the field, then `monitoring.fields.<subject>.<path>` (ops can tune without a
contract change). `false` anywhere switches a check off; a later layer can switch it back on.
"""

from __future__ import annotations

from dataclasses import dataclass

from guard.config.settings import DriftThresholdSettings
from guard.contracts.spec import DriftSpec

FIELD_KEYS = (
    "null_rate_abs",
    "null_rate_rel",
    "missing_rate_abs",
    "type_change",
    "psi",
    "ks",
    "wasserstein",
    "js",
    "chi2_p",
)


@dataclass(frozen=True, slots=True)
class FieldThresholds:
    """Concrete thresholds for one field; None means the check is off."""

    null_rate_abs: float | None = 0.05
    null_rate_rel: float | None = 0.5
    missing_rate_abs: float | None = 0.05
    type_change: float | None = 0.01
    psi: float | None = 0.2
    ks: float | None = 0.1
    wasserstein: float | None = 0.1
    js: float | None = 0.1
    chi2_p: float | None = None
    new_categories: bool = True
    categorical: bool | None = None  # None: decided from the baseline


@dataclass(frozen=True, slots=True)
class WindowThresholds:
    volume_rel: float | None = 0.5
    quarantine_rate_abs: float | None = 0.05
    new_fields: bool = True
    missing_fields: float | None = 0.05
    p_value: float | None = 0.05  # family-wise; None: no test, the thresholds alone decide
    min_records: int = 100
    min_values: int = 30
    categorical_max: int = 50


def _on(value: float | bool | None) -> float | None:
    if value is None or value is False or value is True:
        return None
    return float(value)


def resolve_field(defaults: DriftThresholdSettings, *layers: DriftSpec | None) -> FieldThresholds:
    values: dict[str, object] = {k: getattr(defaults, k) for k in FIELD_KEYS}
    new_categories: bool = defaults.new_categories
    categorical: bool | None = defaults.categorical
    for layer in layers:
        if layer is None:
            continue
        for key in layer.model_fields_set:
            value = getattr(layer, key)
            if key == "new_categories":
                new_categories = bool(value)
            elif key == "categorical":
                categorical = value
            elif value is not None:
                values[key] = value
    return FieldThresholds(
        **{k: _on(v) for k, v in values.items()},  # type: ignore[arg-type]
        new_categories=new_categories,
        categorical=categorical,
    )


def resolve_window(defaults: DriftThresholdSettings) -> WindowThresholds:
    return WindowThresholds(
        volume_rel=_on(defaults.volume_rel),
        quarantine_rate_abs=_on(defaults.quarantine_rate_abs),
        new_fields=defaults.new_fields,
        missing_fields=_on(defaults.missing_fields),
        p_value=_on(defaults.p_value),
        min_records=defaults.min_records,
        min_values=defaults.min_values,
        categorical_max=defaults.categorical_max,
    )
