"""Drift alerts: what was measured, against what, and the event published for it.

Every alert names the subject, the field (`(window)` for window-level checks), the statistic
and its measured value (an effect size) with the threshold it crossed, the baseline and
current levels, the measured p-value with the significance level it had to be under, and
the window. Alerts never carry
record values: category values are values, so new categories are given as a count and short
keyed hashes (HMAC-SHA-256 with `monitoring.value_hash_key`; an unkeyed hash of a currency or
a country code is recovered by hashing the few candidates), unless `expose_values: true` opts
in to naming them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import math
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from guard._version import __version__
from guard.transport.base import OutRecord

WINDOW_FIELD = "(window)"
EVENT_FORMAT = 1


@dataclasses.dataclass(frozen=True)
class Alert:
    subject: str
    field: str
    statistic: str
    value: float  # the statistic measured for this window, compared with the threshold
    threshold: float
    baseline_value: float | None  # the baseline's level of the quantity (a rate, a median)
    current_value: float | None  # this window's level of the same quantity
    detail: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # The significance test behind the alert: the measured p-value and the level it had to
    # be under (after the family-wise correction). None for checks without a test (volume).
    p_value: float | None = None
    significance_level: float | None = None


# Without a configured key, one per process: hashes then compare within a run only.
_hash_key = secrets.token_bytes(32)


def set_value_hash_key(key: bytes) -> None:
    """The secret alert hashes are keyed with (`monitoring.value_hash_key`)."""
    global _hash_key
    _hash_key = key


def value_hash(value: str) -> str:
    digest = hmac.new(_hash_key, value.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return digest.hexdigest()[:16]


def describe_values(values: Iterable[str], expose_values: bool) -> dict[str, Any]:
    """New category values as a count plus hashes, or the values themselves if opted in."""
    items = sorted(values)
    if expose_values:
        return {"count": len(items), "values": items}
    return {"count": len(items), "hashes": sorted(value_hash(v) for v in items)}


def _round(x: float | None) -> float | None:
    """6 significant digits; None for NaN and infinities, which JSON cannot carry (json.dumps
    wrote them as the non-standard tokens NaN/Infinity, refused by strict consumers)."""
    return None if x is None or not math.isfinite(x) else float(f"{x:.6g}")


def alert_event(
    alert: Alert, window: Mapping[str, Any], baseline: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "type": "drift",
        "format": EVENT_FORMAT,
        "subject": alert.subject,
        "field": alert.field,
        "statistic": alert.statistic,
        "value": _round(alert.value),
        "threshold": alert.threshold,
        "baseline_value": _round(alert.baseline_value),
        "current_value": _round(alert.current_value),
        "p_value": _round(alert.p_value),
        "significance_level": _round(alert.significance_level),
        "window": dict(window),
        "baseline": dict(baseline),
        "detail": dict(alert.detail),
        "detected_at": datetime.now(UTC).isoformat(),
        "guard_version": __version__,
    }


def alert_record(topic: str, event: Mapping[str, Any]) -> OutRecord:
    key = f"{event['subject']}/{event['field']}".encode()
    value = json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
    headers = [("guard.event", b"drift"), ("guard.statistic", str(event["statistic"]).encode())]
    return OutRecord(topic, key, value, headers)
