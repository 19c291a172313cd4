"""The service probe: reading lag is for metrics and health, never a reason to stop."""

from __future__ import annotations

from guard.service.health import Health
from guard.service.metrics import ServiceMetrics
from guard.service.probe import ServiceProbe
from guard.transport.base import TopicPartition
from guard.transport.memory import MemoryBroker, MemoryPipe


class _BrokenLagPipe(MemoryPipe):
    def lag(self) -> dict[TopicPartition, int]:
        raise TypeError("unsupported operand type(s) for -: 'int' and 'NoneType'")


def test_a_bug_in_reading_lag_leaves_lag_unknown_and_the_loop_running() -> None:
    broker = MemoryBroker()
    broker.create("orders", 1)
    health = Health(stall_seconds=30, ready_seconds=10)
    probe = ServiceProbe(ServiceMetrics(), health, {"orders": "orders"}, 0.0, 0)
    health.lag_read(5)
    pipe = _BrokenLagPipe(broker, "g")
    pipe.subscribe(["orders"])  # owns partitions: its own lag is read
    probe.tick(pipe)  # must not raise
    assert health.live().detail["lag"] is None
