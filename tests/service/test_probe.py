"""The service probe: reading lag is for metrics and health, never a reason to stop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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


def test_time_without_progress_and_assignment_changes_are_counted_per_client() -> None:
    now = [0.0]
    clock = lambda: now[0]  # noqa: E731
    broker = MemoryBroker()
    broker.create("orders", 1)
    broker.produce("orders", b"{}")
    metrics = ServiceMetrics(client="confluent")
    health = Health(stall_seconds=30, ready_seconds=10, clock=clock)
    probe = ServiceProbe(metrics, health, {"orders": "orders"}, 0.0, 0, clock=clock)
    pipe = MemoryPipe(broker, "g")
    probe.tick(pipe)  # owns nothing yet: the group's lag (1 record) is read
    pipe.subscribe(["orders"])
    now[0] = 12.0
    probe.tick(pipe)  # joined: one assignment change; 12 s without progress
    value = metrics.registry.get_sample_value
    assert value("guard_rebalances_total", {"client": "confluent"}) == 1
    assert value("guard_seconds_without_progress", {"client": "confluent"}) == 12.0
    assert probe.stalled() is False
    now[0] = 31.0
    probe.tick(pipe)
    assert probe.stalled() is True  # what /healthz says, and what makes the runner rejoin


def test_seconds_without_progress_grows_while_the_loop_is_stuck_between_ticks() -> None:
    """A loop stuck inside a call ticks no more: the gauge is read at the scrape, as /healthz
    reads its clock, not left at the value of the last tick."""
    now = [0.0]
    clock = lambda: now[0]  # noqa: E731
    broker = MemoryBroker()
    broker.create("orders", 1)
    metrics = ServiceMetrics()
    health = Health(stall_seconds=30, ready_seconds=10, clock=clock)
    probe = ServiceProbe(metrics, health, {"orders": "orders"}, 0.0, 0, clock=clock)
    pipe = MemoryPipe(broker, "g")
    pipe.subscribe(["orders"])
    probe.tick(pipe)
    now[0] = 45.0  # stuck in a poll since: no tick, no hook
    labels = {"client": "kafka-python"}
    assert metrics.registry.get_sample_value("guard_seconds_without_progress", labels) == 45.0
    assert health.live().detail["seconds_since_progress"] == 45.0


class _MarkerEndedPipe(MemoryPipe):
    """A source whose upstream producer was transactional: each partition's log ends with a
    commit marker, one offset past the last record, which no read returns."""

    def group_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, tuple[int, int]]:
        return {tp: (at, end + 1) for tp, (at, end) in super().group_offsets(topics).items()}

    def holds_records(self, spans: Mapping[TopicPartition, tuple[int, int]]) -> bool:
        logs = self.broker.topics
        return any(min(end, len(logs[t][p])) > at for (t, p), (at, end) in spans.items())


def test_a_spare_member_on_a_quiet_source_ending_in_a_commit_marker_stays_live() -> None:
    """Owning no partition, health reads the group's offsets against the end: the marker
    after the last record is no work waiting, however long the stream stays quiet."""
    now = [0.0]
    clock = lambda: now[0]  # noqa: E731
    broker = MemoryBroker()
    broker.create("orders", 1)
    broker.produce("orders", b"{}")
    broker.committed["g"][("orders", 0)] = 1  # another member processed the record
    health = Health(stall_seconds=30, ready_seconds=10, clock=clock)
    probe = ServiceProbe(ServiceMetrics(), health, {"orders": "orders"}, 5.0, 0, clock=clock)
    spare = _MarkerEndedPipe(broker, "g")  # never subscribed: owns nothing
    for _ in range(20):
        now[0] += 5.0
        probe.tick(spare)
    assert health.live().ok, health.live().detail
    assert health.live().detail["lag"] == 0
    broker.produce("orders", b"{}")  # a record nobody processes: that is work waiting
    for _ in range(8):
        now[0] += 5.0
        probe.tick(spare)
    assert not health.live().ok and health.live().detail["lag"] == 2


def test_assigned_partitions_are_counted_when_the_lag_cannot_be_read() -> None:
    broker = MemoryBroker()
    broker.create("orders", 3)
    metrics = ServiceMetrics()
    probe = ServiceProbe(
        metrics, Health(stall_seconds=30, ready_seconds=10), {"orders": "orders"}, 0.0, 0
    )
    pipe = MemoryPipe(broker, "g")
    pipe.subscribe(["orders"])
    pipe.fail_lag = True  # a broker that does not answer: the client still knows what it owns
    probe.tick(pipe)
    assert metrics.registry.get_sample_value("guard_assigned_partitions") == 3


def test_assigned_partitions_fall_to_zero_when_every_partition_is_lost_in_an_outage() -> None:
    broker = MemoryBroker()
    broker.create("orders", 3)
    metrics = ServiceMetrics()
    probe = ServiceProbe(
        metrics, Health(stall_seconds=30, ready_seconds=10), {"orders": "orders"}, 0.0, 0
    )
    pipe = MemoryPipe(broker, "g")
    pipe.subscribe(["orders"])
    probe.tick(pipe)
    assert metrics.registry.get_sample_value("guard_assigned_partitions") == 3
    pipe.fail_lag = True  # the broker stops answering and the client loses its partitions
    pipe._positions.clear()
    probe.tick(pipe)
    assert metrics.registry.get_sample_value("guard_assigned_partitions") == 0


def test_a_tick_says_whether_the_broker_answered_the_lag_read_it_made() -> None:
    now = [0.0]
    clock = lambda: now[0]  # noqa: E731
    broker = MemoryBroker()
    broker.create("orders", 1)
    health = Health(stall_seconds=30, ready_seconds=10, clock=clock)
    probe = ServiceProbe(ServiceMetrics(), health, {"orders": "orders"}, 10.0, 0, clock=clock)
    pipe = MemoryPipe(broker, "g")
    assert probe.tick(pipe) is True  # owns nothing: the group's offsets were read
    pipe.subscribe(["orders"])
    now[0] = 10.0
    pipe.fail_lag = True  # a stopped broker
    assert probe.tick(pipe) is False
    now[0] = 15.0
    pipe.fail_lag = False
    assert probe.tick(pipe) is None  # no read this turn (one every 10 s)
    now[0] = 20.0
    assert probe.tick(pipe) is True
