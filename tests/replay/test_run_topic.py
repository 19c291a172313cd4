"""replay_source over a quarantine topic: the real TopicSource and TopicSink on the in-memory
broker behind the transport factory (tests/fixtures/memory_kafka.py)."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

from guard.cli.replay import build_classifier
from guard.config.settings import GuardSettings
from guard.contracts import load_registry
from guard.demo.samples import good_order
from guard.quarantine.filters import RecordFilter
from guard.quarantine.sources import TopicSource
from guard.replay import ReplayOptions, ReplayReport, TopicSink, replay_source
from guard.service import build_service
from guard.transport.memory import MemoryBroker
from tests.fixtures.paths import SCHEMAS

SOURCE = "orders"
QUARANTINE = f"{SOURCE}.quarantine"
CLEAN = f"{SOURCE}.valid"


def _settings(accepted: Any = "latest", **extra: Any) -> GuardSettings:
    return GuardSettings(
        topics={SOURCE: {"subject": "orders", "accepted_versions": accepted}},  # type: ignore[arg-type]
        schemas_dir=SCHEMAS,
        batch={"max_records": 100, "poll_timeout_ms": 1},  # type: ignore[arg-type]
        **extra,
    )


def _chf_orders(n: int) -> list[bytes]:
    """Orders only v2 accepts (CHF is not in v1's currency enum)."""
    rng = random.Random(7)
    out = []
    for _ in range(n):
        order = good_order(rng, version=1)
        order["currency"] = "CHF"
        out.append(json.dumps(order).encode())
    return out


def _quarantine(broker: MemoryBroker, values: list[bytes | None], **extra: Any) -> None:
    """Run the service (contract v1 only) over `values`, keyed k00, k01, ...: each is
    quarantined."""
    broker.create(SOURCE, 1)
    for i, value in enumerate(values):
        broker.produce(SOURCE, value, b"k%02d" % i)
    summary = build_service(_settings([1], **extra)).run(idle_timeout=0)
    assert summary.stats.quarantined == len(values)


def _replay(settings: GuardSettings, replay_id: str, batch_size: int = 200) -> ReplayReport:
    registry = load_registry(settings.schemas_dir)
    source = TopicSource(settings.kafka, QUARANTINE)
    classifier = build_classifier(settings, registry, source.handled(), RecordFilter())

    def make_sink() -> TopicSink:
        return TopicSink(settings, QUARANTINE, replay_id, "2026-12-08T10:00:00Z", False)

    options = ReplayOptions(replay_id, assume_yes=True, batch_size=batch_size)
    return replay_source(source, classifier, make_sink, options, "clean")


def test_a_commit_that_lands_after_its_producer_was_abandoned_is_not_written_again(
    memory_kafka: MemoryBroker,
) -> None:
    """The commit of batch 2 gets no answer in time (its producer is abandoned) but reached
    the coordinator: it lands once a new producer fences the old one. The replay reads its
    state only after that, so it does not write the batch a second time."""
    _quarantine(memory_kafka, list(_chf_orders(20)))
    memory_kafka.lose_commit_answer_of = 2
    report = _replay(_settings(), "r1", batch_size=5)
    assert report.passed == 20
    clean = Counter(r.key for r in memory_kafka.records(CLEAN))
    assert clean == Counter({b"k%02d" % i: 1 for i in range(20)}), "each passing record once"


def test_with_tombstones_forwarded_a_quarantined_tombstone_is_replayed_to_the_clean_topic(
    memory_kafka: MemoryBroker,
) -> None:
    """Quarantined as `null_value` while tombstones were quarantined; after the switch to
    `tombstones: forward` replay applies the live rule: the delete reaches the clean topic,
    and nothing is requeued (before: requeued as `null_value` on every replay)."""
    _quarantine(memory_kafka, [None])
    report = _replay(_settings(tombstones="forward"), "r1")
    assert (report.passed, report.still_failing) == (1, 0)
    [clean] = memory_kafka.records(CLEAN)
    assert (clean.key, clean.value) == (b"k00", None)
    assert len(memory_kafka.records(QUARANTINE)) == 1, "nothing requeued"


def test_a_copy_whose_envelope_names_a_negative_source_partition_is_replayed_not_a_crash(
    memory_kafka: MemoryBroker,
) -> None:
    """Only a tampered envelope names one: the clean copy is partitioned by the producer."""
    _quarantine(memory_kafka, _chf_orders(2))
    [stored, _] = memory_kafka.topics[QUARANTINE][0]
    stored.headers = [(k, b"-1" if k == "guard.source.partition" else v) for k, v in stored.headers]
    report = _replay(_settings(), "r1")
    assert report.passed == 2
    assert sorted(r.key for r in memory_kafka.records(CLEAN)) == [b"k00", b"k01"]


def test_a_requeued_copy_carries_its_envelope_in_the_configured_header_style(
    memory_kafka: MemoryBroker,
) -> None:
    """Under `header_style: connect` the quarantine topic's records carry Connect's names
    (and the source coordinates only under them), requeued copies too, so DLQ tooling reads
    every copy (before: a requeued copy had the guard style, no `__connect.errors.*`)."""
    style = {"quarantine": {"header_style": "connect"}}
    _quarantine(memory_kafka, [b'{"not": "an order"}'], **style)
    report = _replay(_settings(**style), "r1")
    assert report.still_failing == 1
    first, requeued = memory_kafka.records(QUARANTINE)
    names = [k for k, _ in first.headers]
    assert "__connect.errors.topic" in names and "guard.source.topic" not in names
    requeued_names = [k for k, _ in requeued.headers]
    connect = [k for k in names if k.startswith("__connect.errors.")]
    assert [k for k in requeued_names if k.startswith("__connect.errors.")] == connect
    assert "guard.source.topic" not in requeued_names
    assert dict(requeued.headers)["guard.attempt"] == b"2"
    assert dict(requeued.headers)["guard.replay.id"] == b"r1"
