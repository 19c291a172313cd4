"""The service and retry settings that bound how long the loop may hang or fail."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from guard.config.settings import GuardSettings

TOPICS = {"orders": {"subject": "orders"}}


def test_defaults_end_a_dead_broker_streak_in_a_minute_and_bound_stops_and_stalls() -> None:
    settings = GuardSettings(topics=TOPICS)  # type: ignore[arg-type]
    assert settings.retry.outage_budget_s == 60
    assert settings.service.stop_grace_s == 20 and settings.service.stall_timeout_s == 120


def test_a_stall_timeout_a_commit_could_legitimately_exceed_is_refused() -> None:
    with pytest.raises(ValidationError, match="stall_timeout_s"):
        GuardSettings(
            topics=TOPICS,  # type: ignore[arg-type]
            kafka={"request_timeout_ms": 30_000},  # type: ignore[arg-type]
            service={"stall_timeout_s": 90},  # type: ignore[arg-type]
        )


def test_service_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARD_SERVICE__STOP_GRACE_S", "7.5")
    monkeypatch.setenv("GUARD_RETRY__OUTAGE_BUDGET_S", "30")
    settings = GuardSettings(topics=TOPICS)  # type: ignore[arg-type]
    assert settings.service.stop_grace_s == 7.5 and settings.retry.outage_budget_s == 30
