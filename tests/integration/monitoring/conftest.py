"""The temporary `events` contract the monitoring broker tests stream (as in tests/monitoring)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.monitoring.streams import write_schemas


@pytest.fixture
def schemas(tmp_path: Path) -> Path:
    return write_schemas(tmp_path / "schemas")
