"""`build_service` wires what production runs: the chosen client's pipe and the broker's
view of the targets (in-memory fake behind the factory)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from guard.config.settings import GuardSettings, KafkaSettings
from guard.service import build_service
from guard.transport import factory
from guard.transport.base import Pipe, TopicFacts
from guard.transport.memory import MemoryBroker, MemoryPipe
from tests.fixtures.paths import SCHEMAS


def test_the_default_service_opens_the_factory_pipe_and_describes_its_targets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broker = MemoryBroker()
    broker.create("orders", 2)
    broker.produce("orders", b"not json", b"k")
    described: list[list[str]] = []

    def open_pipe(kafka: KafkaSettings) -> Pipe:
        return MemoryPipe(broker, kafka.group_id)

    def describe_topics(kafka: KafkaSettings, topics: Sequence[str]) -> dict[str, TopicFacts]:
        described.append(sorted(topics))
        return broker.describe_topics(topics)

    monkeypatch.setattr(factory, "open_pipe", open_pipe)
    monkeypatch.setattr(factory, "describe_topics", describe_topics)
    settings = GuardSettings(
        topics={"orders": {"subject": "orders"}},  # type: ignore[arg-type]
        schemas_dir=SCHEMAS,
        batch={"max_records": 10, "poll_timeout_ms": 1},  # type: ignore[arg-type]
    )
    summary = build_service(settings).run(idle_timeout=0)
    assert summary.stats.quarantined == 1
    assert described and described[0] == ["orders.quarantine", "orders.valid"]
    [q] = broker.records("orders.quarantine")
    assert q.key == b"k"
