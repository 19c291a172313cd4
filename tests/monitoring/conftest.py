"""Fixtures for monitoring tests: a temporary `events` contract and settings around it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from guard.config.settings import GuardSettings
from guard.contracts import load_registry
from guard.contracts.registry import Registry
from tests.monitoring.streams import write_schemas

MakeSettings = Callable[..., GuardSettings]


@pytest.fixture
def schemas(tmp_path: Path) -> Path:
    return write_schemas(tmp_path / "schemas")


@pytest.fixture
def registry(schemas: Path) -> Registry:
    return load_registry(schemas)


@pytest.fixture
def make_settings(schemas: Path) -> MakeSettings:
    """Settings for the `events` subject with monitoring on; keyword arguments override
    `monitoring` keys, `top` overrides top-level ones."""

    def make(top: dict[str, Any] | None = None, **monitoring: Any) -> GuardSettings:
        mon: dict[str, Any] = {
            "enabled": True,
            "windows": {"records": 1000, "seconds": None},
            "baseline": {"source": "learn", "learn_windows": 2, "save": False},
        }
        mon.update(monitoring)
        base: dict[str, Any] = {
            "topics": {"events": {"subject": "events"}},
            "schemas_dir": schemas,
            "state_dir": schemas.parent / "state",
            "batch": {"max_records": 250, "poll_timeout_ms": 1},
            "retry": {"initial_backoff_ms": 1, "max_backoff_ms": 2, "max_attempts": 5},
            "kafka": {"instance_id": "test-instance"},
            "monitoring": mon,
        }
        base.update(top or {})
        return GuardSettings(**base)

    return make
