"""Output topics that change or refuse records while the service runs (in-memory pipe)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from guard.config.settings import GuardSettings
from guard.contracts import load_registry
from guard.demo.samples import sample_stream
from guard.errors import RecordTooLargeError, TransientTransportError
from guard.quarantine.envelope import read_envelope
from guard.routing.fit import record_size
from guard.service import build_service
from guard.transport.base import OutRecord, TopicFacts, TopicPartition
from guard.transport.memory import MemoryBroker, MemoryPipe
from tests.fixtures.paths import SCHEMAS


def _settings() -> GuardSettings:
    return GuardSettings(
        topics={"orders": {"subject": "orders"}},  # type: ignore[arg-type]
        batch={"max_records": 10, "poll_timeout_ms": 1},  # type: ignore[arg-type]
        retry={"initial_backoff_ms": 1, "max_backoff_ms": 2, "max_attempts": 10},  # type: ignore[arg-type]
    )


class StrictPipe(MemoryPipe):
    """Refuses what a broker refuses: a partition the topic does not have (transient, like
    kafka-python's 'Unrecognized partition'), and records over `refuse_over` bytes."""

    def __init__(self, broker: MemoryBroker, refuse_over: int | None = None) -> None:
        super().__init__(broker, "g")
        self.refuse_over = refuse_over
        self.sent: list[OutRecord] = []
        self.refusals = 0

    def send(self, record: OutRecord) -> None:
        parts = len(self.broker.topics.get(record.topic, [[]]))
        if record.partition is not None and record.partition >= parts:
            raise TransientTransportError(f"send: Unrecognized partition {record.partition}")
        if self.refuse_over is not None and record_size(record) > self.refuse_over:
            self.refusals += 1
            raise RecordTooLargeError("send: MessageSizeTooLargeError", topic=record.topic)
        super().send(record)


def _broker(n: int, partitions: int = 3) -> MemoryBroker:
    broker = MemoryBroker()
    broker.create("orders", partitions)
    for i, s in enumerate(sample_stream(n, bad_share=0.5, large_bytes=20_000)):
        broker.produce("orders", s.value, s.key, s.headers, partition=i % partitions)
    return broker


def _landed(broker: MemoryBroker) -> list[tuple[int, int]]:
    src = {r.key: (r.partition, r.offset) for r in broker.records("orders")}
    out = [src[r.key] for r in broker.records("orders.valid")]
    for r in broker.records("orders.quarantine"):
        env = read_envelope(r.headers)["source"]
        out.append((env["partition"], env["offset"]))
    return out


def test_a_target_recreated_with_fewer_partitions_is_reread_and_the_batch_retried() -> None:
    broker = _broker(90)
    pipe = StrictPipe(broker)
    service = build_service(
        _settings(),
        load_registry(SCHEMAS),
        pipe_factory=lambda: pipe,
        describe_targets=pipe.broker.describe_topics,
    )
    service.run(max_records=30)
    broker.topics["orders.quarantine"] = [[]]  # deleted, re-created with one partition
    service = build_service(
        _settings(),
        load_registry(SCHEMAS),
        pipe_factory=lambda: pipe,
        describe_targets=pipe.broker.describe_topics,
    )
    original_commit = pipe.commit
    shrunk: list[bool] = []

    def commit_then_shrink(offsets: Mapping[TopicPartition, int]) -> None:
        original_commit(offsets)
        if not shrunk:  # shrink the clean topic after the second run's first commit
            shrunk.append(True)
            broker.topics["orders.valid"] = [[]]

    pipe.commit = commit_then_shrink  # type: ignore[method-assign]
    summary = service.run(idle_timeout=0)
    assert summary.retries >= 1
    landed = _landed(broker)
    assert len(landed) == len(set(landed))  # nothing twice
    assert len(broker.topics["orders.quarantine"]) == 1


def test_a_refusal_the_precheck_missed_lowers_the_limit_and_retries_the_batch() -> None:
    broker = _broker(40, partitions=1)
    pipe = StrictPipe(broker, refuse_over=3000)

    def describe(topics: Sequence[str]) -> dict[str, TopicFacts]:  # the broker claims 1 MB
        return {t: TopicFacts(1, 1_048_576) for t in topics}

    service = build_service(
        _settings(), load_registry(SCHEMAS), pipe_factory=lambda: pipe, describe_targets=describe
    )
    summary = service.run(idle_timeout=0)
    assert summary.stats.total == 40 and pipe.refusals >= 1
    landed = _landed(broker)
    assert sorted(landed) == [(0, o) for o in range(40)]
    omitted = [
        r for r in broker.records("orders.quarantine") if dict(r.headers).get("guard.omitted")
    ]
    assert omitted and all(
        record_size(OutRecord(r.topic, r.key, r.value, list(r.headers))) <= 3000 for r in omitted
    )  # type: ignore[arg-type]


def test_produce_requests_are_capped_at_the_smallest_targets_limit() -> None:
    broker = _broker(10)
    pipe = MemoryPipe(broker, "g")
    limits = {"orders.valid": 1_048_588, "orders.quarantine": 40_000}

    def describe(topics: Sequence[str]) -> dict[str, TopicFacts]:
        return {t: TopicFacts(3, limits[t]) for t in topics}

    build_service(
        _settings(), load_registry(SCHEMAS), pipe_factory=lambda: pipe, describe_targets=describe
    ).run(idle_timeout=0)
    assert pipe.batch_cap == 40_000
