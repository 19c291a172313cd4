"""The `monitoring:` section of the service settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from guard.config.settings import GuardSettings

TOPICS = {"orders": {"subject": "orders"}}


def test_monitoring_is_off_by_default_with_the_documented_topics_and_windows() -> None:
    m = GuardSettings(topics=TOPICS).monitoring  # type: ignore[arg-type]
    assert m.enabled is False
    assert (m.drift_topic, m.profiles_topic) == ("guard.drift", "guard.profiles")
    assert (m.windows.records, m.windows.seconds) == (10_000, 300.0)
    assert (m.thresholds.psi, m.thresholds.null_rate_abs, m.thresholds.wasserstein) == (
        0.2,
        0.05,
        0.1,
    )
    assert m.value_hash_key is None
    assert m.thresholds.p_value == 0.05  # family-wise, as in `guard drift report`


def test_a_window_needs_a_count_or_a_time_limit() -> None:
    with pytest.raises(ValidationError, match="set records, seconds or both"):
        GuardSettings(topics=TOPICS, monitoring={"windows": {"records": None, "seconds": None}})  # type: ignore[arg-type]


def test_environment_sets_thresholds_including_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARD_MONITORING__ENABLED", "true")
    monkeypatch.setenv("GUARD_MONITORING__THRESHOLDS__PSI", "0.35")
    monkeypatch.setenv("GUARD_MONITORING__THRESHOLDS__KS", "off")
    m = GuardSettings(topics=TOPICS).monitoring  # type: ignore[arg-type]
    assert (m.enabled, m.thresholds.psi, m.thresholds.ks) == (True, 0.35, False)


def test_an_unknown_monitoring_key_is_rejected_naming_it() -> None:
    with pytest.raises(ValidationError, match=r"monitoring\.windowz"):
        GuardSettings(topics=TOPICS, monitoring={"windowz": {}})  # type: ignore[arg-type]
