"""group_join's adaptation of kafka-python's coordinator: a join task not yet awaited counts
as a rejoin still needed. Real kafka-python classes, no broker (the broker case is in
tests/integration/transport/kafka_python/test_group_join.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from kafka.coordinator.base import BaseCoordinator

from guard.transport.kafka_python import group_join


def _coordinator(rejoin_needed: bool, join_task: object) -> SimpleNamespace:
    return SimpleNamespace(rejoin_needed=rejoin_needed, _join_task=join_task)


def test_a_join_task_not_yet_awaited_means_the_rejoin_is_still_needed() -> None:
    assert group_join.install()
    assert BaseCoordinator.need_rejoin(_coordinator(False, object())) is True
    assert BaseCoordinator.need_rejoin(_coordinator(False, None)) is False
    assert BaseCoordinator.need_rejoin(_coordinator(True, None)) is True


def test_install_is_once_and_leaves_a_join_loop_it_was_not_written_for_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert group_join.install()
    patched = BaseCoordinator.need_rejoin
    assert group_join.install() and BaseCoordinator.need_rejoin is patched
    monkeypatch.setattr(BaseCoordinator, "need_rejoin", lambda self: self.rejoin_needed)
    monkeypatch.setattr("inspect.getsource", lambda obj: "async def join_group_async(): ...")
    assert not group_join.install()
