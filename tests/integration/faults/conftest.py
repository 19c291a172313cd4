"""Fault scenarios leave no `guard run` child behind, even when they fail midway."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.guard_process import GuardProcess


@pytest.fixture(autouse=True)
def _kill_leftover_guards() -> Iterator[None]:
    yield
    while GuardProcess.started_children:
        child = GuardProcess.started_children.pop()
        if child.proc.poll() is None:
            child.proc.kill()
            child.proc.wait(timeout=30)
