"""Each transport's snapshot reader and transactional sink against the real broker."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from guard.config.settings import KafkaSettings
from guard.localbroker import LocalKafka
from guard.transport.base import OutRecord, TopicSnapshot
from guard.transport.factory import ensure_topics, open_reader, open_tx_sink

pytestmark = pytest.mark.integration


def _settings(kafka: LocalKafka, client: str) -> KafkaSettings:
    return KafkaSettings(
        client=client,  # type: ignore[arg-type]
        bootstrap_servers=kafka.bootstrap_servers,
        request_timeout_ms=15_000,
    )


def test_reader_sees_committed_records_only_and_ends_at_a_trailing_marker(
    kafka: LocalKafka, kafka_client: str, unique: Callable[[str], str]
) -> None:
    topic = unique("t")
    settings = _settings(kafka, kafka_client)
    ensure_topics(settings, {topic: 2})
    sink = open_tx_sink(settings, unique("tx"))
    try:
        sink.begin()
        for i in range(3):
            sink.send(OutRecord(topic, b"k%d" % i, b"v%d" % i, [("h", b"%d" % i)], None, i % 2))
        sink.commit()
        sink.begin()
        sink.send(OutRecord(topic, b"aborted", b"x", [], None, 0))
        sink.abort()
        sink.begin()
        sink.send(OutRecord(topic, b"tomb", None, [], None, 1))  # a null value survives
        sink.commit()
    finally:
        sink.close()
    reader = open_reader(settings)
    try:
        snapshot = reader.snapshot(topic)
        assert snapshot is not None and reader.snapshot(unique("missing")) is None
        got = sorted(
            ((r.partition, r.offset, r.key, r.value, r.headers) for r in reader.read([snapshot])),
            key=lambda t: (t[0], t[1]),
        )
    finally:
        reader.close()
    assert [(p, k, v, h) for p, _, k, v, h in got] == [
        (0, b"k0", b"v0", [("h", b"0")]),
        (0, b"k2", b"v2", [("h", b"2")]),
        (1, b"k1", b"v1", [("h", b"1")]),
        (1, b"tomb", None, []),
    ]


def test_latest_reads_a_topic_as_a_table_by_key(
    kafka: LocalKafka, kafka_client: str, unique: Callable[[str], str]
) -> None:
    topic = unique("t")
    settings = _settings(kafka, kafka_client)
    ensure_topics(settings, {topic: 1}, {topic: {"cleanup.policy": "compact"}})
    sink = open_tx_sink(settings, unique("tx"))
    try:
        sink.begin()
        for key, value in [(b"a", b"1"), (b"b", b"1"), (b"a", b"2"), (b"b", None)]:
            sink.send(OutRecord(topic, key, value, []))
        sink.commit()
    finally:
        sink.close()
    reader = open_reader(settings)
    try:
        table = reader.latest(topic)
    finally:
        reader.close()
    assert {k: r.value for k, r in table.items()} == {b"a": b"2"}


def test_a_settled_snapshot_waits_for_an_open_transaction_and_then_reads_it_whole(
    kafka: LocalKafka, kafka_client: str, unique: Callable[[str], str]
) -> None:
    """A read just after a commit must see the transaction, though the broker writes its
    markers after the commit returns: the snapshot waits until the committed end has caught
    up with the high watermark. Here the transaction is still open when the read begins and
    is committed while the read waits on it."""
    topic = unique("t")
    settings = _settings(kafka, kafka_client)
    ensure_topics(settings, {topic: 1})
    done = open_tx_sink(settings, unique("tx"))
    done.begin()
    done.send(OutRecord(topic, b"before", b"1", [], None, 0))
    done.commit()
    done.close()
    open_tx = open_tx_sink(settings, unique("tx"))
    open_tx.begin()
    open_tx.send(OutRecord(topic, b"pending", b"2", [], None, 0))
    reader = open_reader(settings)
    try:
        committed = reader.snapshot(topic)
        assert committed is not None
        deadline = time.monotonic() + 60
        while reader.high_watermarks(topic)[0] <= committed.end[0]:  # the open record landed
            assert time.monotonic() < deadline, "the open transaction's record never landed"
            time.sleep(0.05)
        # Waited out: what is committed, the open transaction left out.
        unsettled = reader.settled_snapshot(topic, wait_s=0.2)
        assert unsettled is not None and unsettled.end == committed.end
        asked = threading.Event()
        watermarks = reader.high_watermarks

        def noting(t: str) -> dict[int, int]:
            asked.set()
            return watermarks(t)

        reader.high_watermarks = noting  # type: ignore[method-assign]
        result: list[TopicSnapshot | None] = []
        waiter = threading.Thread(target=lambda: result.append(reader.settled_snapshot(topic, 120)))
        waiter.start()
        assert asked.wait(60), "the settled snapshot never compared the watermarks"
        open_tx.commit()
        waiter.join(180)
        settled = result[0]
        assert settled is not None
        keys = [r.key for r in reader.read([settled])]
    finally:
        open_tx.close()
        reader.close()
    assert keys == [b"before", b"pending"]
