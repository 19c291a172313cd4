"""Drift alert events as they go to the drift topic."""

from __future__ import annotations

import json
import math

from guard.monitoring.alerts import Alert, alert_event, alert_record


def test_an_alert_with_a_non_finite_level_is_standard_json() -> None:
    """A baseline holding amounts of 1.7e308 has a NaN mean; its distribution alerts put
    `"baseline_value":NaN` on the drift topic, which strict JSON parsers refuse."""
    alert = Alert("events", "amount", "ks", 0.4, 0.1, math.nan, 35.8, {}, math.inf, 0.01)
    value = alert_record("guard.drift", alert_event(alert, {"id": "w"}, {})).value or b""
    event = json.loads(value, parse_constant=lambda name: _refuse(name))
    assert event["baseline_value"] is None and event["p_value"] is None
    assert event["current_value"] == 35.8


def _refuse(name: str) -> None:
    raise AssertionError(f"non-standard JSON constant {name} in the event")
