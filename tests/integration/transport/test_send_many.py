"""`Pipe.send_many` against the real broker: every kind of record lands as `send` lands it.

kafka-python's `send_many` appends straight to the client's accumulator and hands only some
records to `KafkaProducer.send`; these tests hold both paths to the same bytes on the wire,
and to the same errors, on each transport.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from kafka import KafkaProducer
from kafka.producer.transaction_manager import TransactionState
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.structs import TopicPartition as KTopicPartition

from guard.config.settings import KafkaSettings
from guard.errors import RecordTooLargeError, TransientTransportError
from guard.localbroker import LocalKafka
from guard.transport.base import OutRecord, Pipe
from guard.transport.factory import open_pipe, open_reader
from tests.fixtures.committed import commit_retried, read_committed

pytestmark = pytest.mark.integration

_LIMIT = 64 * 1024  # the producer's max_request_size in these tests
# The timestamps the records below give are from 2023; a record without one gets the time it
# was sent, after this.
_NOW_MS_FLOOR = 1_750_000_000_000


def _pipe(kafka: LocalKafka, client: str, unique: Callable[[str], str], **extra: Any) -> Pipe:
    settings = KafkaSettings(
        client=client,  # type: ignore[arg-type]
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=unique("group"),
        transactional_id=unique("tx"),
        request_timeout_ms=15_000,
        max_request_size=_LIMIT,
        **extra,
    )
    return open_pipe(settings)


def _every_kind(topic: str) -> list[OutRecord]:
    """Records that take each branch of kafka-python's send_many, in all three partitions."""
    near_limit = b"n" * (_LIMIT - 400)  # under the size bound: kafka-python's fast path
    return [
        OutRecord(topic, b"k0", b"plain", [("h", b"1")], 1_700_000_000_000, 0),
        OutRecord(topic, b"k1", b"second partition", [], 1_700_000_000_001, 1),
        OutRecord(topic, b"k2", b"no headers, no timestamp", [], None, 2),
        OutRecord(topic, b"k3", b"null header value", [("a", None), ("b", b"")], None, 0),
        OutRecord(topic, b"k4", None, [("tombstone", b"1")], None, 1),
        OutRecord(topic, None, b"no key", [], None, 2),
        OutRecord(topic, None, None, [("both", b"null")], None, 0),
        OutRecord(topic, b"k7", b"partition chosen by the client", [], None, None),
        OutRecord(topic, b"k8", b"utf-8 header key", [("cl\u00e9 \u2713", b"\xff\x00")], None, 1),
        OutRecord(topic, b"k9", near_limit, [("big", b"x" * 100)], None, 2),
        OutRecord(
            topic, b"k10", b"many headers", [(f"h{i}", b"%d" % i) for i in range(40)], None, 0
        ),
    ]


def _landed(
    kafka: LocalKafka, client: str, topic: str, at_least: int
) -> dict[int, list[tuple[object, ...]]]:
    """Each partition's records in offset order: key, value, headers, and the timestamp when
    the sender gave one. The client chooses record k7's partition: it is listed apart."""
    got = sorted(
        read_committed(kafka.bootstrap_servers, topic, at_least, client),  # type: ignore[arg-type]
        key=lambda r: (r.partition, r.offset),
    )
    landed: dict[int, list[tuple[object, ...]]] = {}
    for r in got:
        explicit = r.timestamp_ms if r.timestamp_ms < _NOW_MS_FLOOR else None  # given
        partition = -1 if r.key == b"k7" else r.partition
        landed.setdefault(partition, []).append((r.key, r.value, tuple(r.headers), explicit))
    return landed


def _seen(kafka: LocalKafka, topic: str) -> str:
    """Each client's snapshot of `topic` (start and end offsets) and the records it reads."""
    out = []
    for client in ("kafka-python", "confluent"):
        settings = KafkaSettings(client=client, bootstrap_servers=kafka.bootstrap_servers)  # type: ignore[arg-type]
        reader = open_reader(settings, fetch_bytes=32 * 1024 * 1024)
        try:  # the records read are those of the snapshot shown
            snap = reader.snapshot(topic)
            read = (
                sorted((r.partition, r.offset, r.key) for r in reader.read([snap])) if snap else []
            )
        finally:
            reader.close()
        out.append(f"{client}: {snap and (snap.start, snap.end)} read {read}")
    return "; ".join(out)


def test_send_many_lands_every_kind_of_record_as_send_does(
    kafka: LocalKafka, kafka_client: str, unique: Callable[[str], str]
) -> None:
    one_by_one, many = unique("one"), unique("many")
    pipe = _pipe(kafka, kafka_client, unique)
    pipe.ensure_topics({one_by_one: 3, many: 3})

    def put() -> None:
        for record in _every_kind(one_by_one):
            pipe.send(record)
        pipe.send_many(_every_kind(many))

    commit_retried(pipe, put)  # a busy machine's flush ran out once
    pipe.close()
    n = len(_every_kind(one_by_one))
    sent_alone = _landed(kafka, kafka_client, one_by_one, n)
    assert sum(map(len, sent_alone.values())) == n
    # (Fresh-clone runs read 9 of 11 here on confluent: librdkafka reported two records
    # delivered that were never written, see test_fresh_partitions.py. The message says what
    # each client's reader sees, to tell the writer from the reader.)
    assert _landed(kafka, kafka_client, many, n) == sent_alone, _seen(kafka, many)
    by_key = {r[0]: r for records in sent_alone.values() for r in records}
    assert by_key[b"k0"][3] == 1_700_000_000_000  # a given timestamp is kept
    assert by_key[b"k3"][2] == (("a", None), ("b", b""))  # a null header value stays null
    assert by_key[b"k9"][1] == b"n" * (_LIMIT - 400)


def test_send_many_names_a_partition_the_topic_lacks_as_transient(
    kafka: LocalKafka, kafka_client: str, unique: Callable[[str], str]
) -> None:
    topic = unique("out")
    pipe = _pipe(kafka, kafka_client, unique)
    pipe.ensure_topics({topic: 1})
    pipe.begin()
    with pytest.raises(TransientTransportError, match="partition"):
        pipe.send_many(
            [OutRecord(topic, b"k", b"v", [], None, 0), OutRecord(topic, b"k", b"v", [], None, 5)]
        )
        pipe.commit({})  # librdkafka reports the unknown partition at delivery
    pipe.abort()
    pipe.close()


def _outcome(
    pipe: Pipe, topic: str, value: bytes, headers: list[tuple[str, bytes | None]], many: bool
) -> str:
    """Send a small record, then one of `value` and `headers`, in one transaction: what
    became of it, and at which step a refusal came."""
    records = [
        OutRecord(topic, b"warm", b"up", [], None, 0),
        OutRecord(topic, b"k", value, headers, None, 0),
    ]
    pipe.begin()
    step = "send"
    try:
        if many:
            pipe.send_many(records)
        else:
            for record in records:
                pipe.send(record)
        step = "commit"
        pipe.commit({})
    except RecordTooLargeError as exc:
        pipe.abort()
        return f"refused at {step}, naming {exc.topic}"
    return "landed"


_HEADERS = {
    "no headers": [],
    "one large header": [("big", b"x" * 100)],
    "200 empty headers, multi-byte keys": [(f"cl\u00e9-{i}-\u2713", b"") for i in range(200)],
}


def _value_sized_at(size: int, headers: list[tuple[str, bytes | None]]) -> bytes:
    """A value that makes kafka-python size a record with key b"k" and `headers` at `size`."""

    def estimate(n: int) -> int:
        return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(b"k", b"v" * n, headers))

    n = size - estimate(0)  # then step over the length varints' growth
    while estimate(n) > size:
        n -= 1
    while estimate(n) < size:
        n += 1
    assert estimate(n) == size
    return b"v" * n


@pytest.mark.parametrize("headers", list(_HEADERS), ids=list(_HEADERS))
@pytest.mark.parametrize("over_limit", [-300, -120, -1, 0, 1, 60])
def test_kafka_python_send_many_refuses_a_record_near_the_limit_exactly_when_send_does(
    kafka: LocalKafka, unique: Callable[[str], str], headers: str, over_limit: int
) -> None:
    """kafka-python only: its send_many sizes records with a bound and its send exactly
    (on confluent both are one path, and a refused batch is the service's to cap).
    `over_limit`: bytes over max_request_size by kafka-python's own estimate."""
    topic = unique("out")
    pipe = _pipe(kafka, "kafka-python", unique)
    pipe.ensure_topics({topic: 1})
    fields = _HEADERS[headers]
    value = _value_sized_at(_LIMIT + over_limit, fields)
    expected = "landed" if over_limit <= 0 else f"refused at send, naming {topic}"
    assert _outcome(pipe, topic, value, fields, many=False) == expected
    assert _outcome(pipe, topic, value, fields, many=True) == expected
    pipe.close()


@pytest.mark.parametrize(
    ("version", "through_send"),
    [("3.0.12", [b"null header"]), ("3.1.0", [b"a", b"b", b"null header", b"c"])],
)
def test_kafka_python_send_many_leaves_to_send_only_the_records_that_need_it(
    kafka: LocalKafka,
    unique: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
    version: str,
    through_send: list[bytes],
) -> None:
    """On the kafka-python versions read, plain records skip KafkaProducer.send; on any other
    version every record goes through it."""
    monkeypatch.setattr("kafka.__version__", version)
    calls: list[bytes] = []
    original = KafkaProducer.send

    def counting_send(self: KafkaProducer, topic: str, **kwargs: object) -> object:
        calls.append(kwargs["key"])  # type: ignore[arg-type]
        return original(self, topic, **kwargs)

    monkeypatch.setattr(KafkaProducer, "send", counting_send)
    topic = unique("out")
    pipe = _pipe(kafka, "kafka-python", unique)
    pipe.ensure_topics({topic: 2})
    pipe.begin()
    pipe.send(OutRecord(topic, b"warm", b"up", [], None, 0))  # the client learns the topic
    calls.clear()
    pipe.send_many(
        [
            OutRecord(topic, b"a", b"1", [("h", b"1")], None, 0),
            OutRecord(topic, b"b", b"2", [], None, 1),
            OutRecord(topic, b"null header", b"3", [("h", None)], None, 0),
            OutRecord(topic, b"c", b"4", [], None, 1),
        ]
    )
    pipe.commit({})
    pipe.close()
    assert calls == through_send
    landed = read_committed(kafka.bootstrap_servers, topic, 5)
    assert sorted(r.key for r in landed) == [b"a", b"b", b"c", b"null header", b"warm"]


def _bumped(pipe: Pipe) -> Any:
    """End the open transaction under the pipe as kafka-python's sender does after
    InvalidProducerEpoch or OutOfOrderSequence (KIP-360, brokers 2.5+): an epoch bump, after
    which the transaction manager is READY. Returns that transaction manager."""
    producer = pipe._producer._producer  # type: ignore[attr-defined]
    tm = producer._transaction_manager
    tm.bump_producer_id_and_epoch()
    producer._sender.wakeup()
    deadline = time.monotonic() + 30  # a bound on a failure, not the verdict's clock
    while tm._current_state != TransactionState.READY:
        assert time.monotonic() < deadline, f"still {tm._current_state.name}"
        time.sleep(0.02)
    return tm


@pytest.mark.parametrize("many", [True, False], ids=["send_many", "send"])
def test_kafka_python_refuses_a_record_after_its_transaction_ended_and_never_commits_it(
    kafka: LocalKafka, unique: Callable[[str], str], many: bool
) -> None:
    topic = unique("out")
    pipe = _pipe(kafka, "kafka-python", unique)
    pipe.ensure_topics({topic: 2})
    put = pipe.send_many if many else (lambda rs: [pipe.send(r) for r in rs])
    pipe.begin()
    # The first record teaches the client the topic (through send); the next ones take
    # send_many's own path and add both partitions to the transaction.
    put([OutRecord(topic, f"before {i}".encode(), b"1", [], None, i % 2) for i in range(4)])
    pipe._producer._producer.flush(30)  # type: ignore[attr-defined]
    _bumped(pipe)
    with pytest.raises(TransientTransportError):
        put([OutRecord(topic, b"after the end", b"2", [], None, 0)])
    pipe.abort()
    pipe.begin()
    put([OutRecord(topic, b"retry", b"3", [], None, 0)])
    pipe.commit({})
    pipe.close()
    assert [r.key for r in read_committed(kafka.bootstrap_servers, topic, 1)] == [b"retry"]


def test_kafka_python_abort_drops_records_held_when_the_transaction_ended_under_them(
    kafka: LocalKafka, unique: Callable[[str], str]
) -> None:
    """Records the accumulator still holds when the transaction ends under them (however
    they got there) are dropped with the producer, never sent by the next transaction."""
    topic = unique("out")
    pipe = _pipe(kafka, "kafka-python", unique)
    pipe.ensure_topics({topic: 1})
    pipe.begin()
    pipe.send_many([OutRecord(topic, b"before", b"1", [], None, 0)])
    pipe._producer._producer.flush(30)  # type: ignore[attr-defined]
    _bumped(pipe)
    producer = pipe._producer._producer  # type: ignore[attr-defined]
    producer._accumulator.append(KTopicPartition(topic, 0), None, b"held", b"2", [])
    pipe.abort()
    pipe.begin()
    pipe.send_many([OutRecord(topic, b"retry", b"3", [], None, 0)])
    pipe.commit({})
    pipe.close()
    assert [r.key for r in read_committed(kafka.bootstrap_servers, topic, 1)] == [b"retry"]


def _numbered(topic: str, n: int, size: int, partition: int = 0) -> list[OutRecord]:
    return [
        OutRecord(
            topic, b"%05d" % i, b"%05d" % i + b"v" * (size - 5), [("i", b"%d" % i)], None, partition
        )
        for i in range(n)
    ]


def test_kafka_python_send_many_lands_records_past_one_batch_in_order(
    kafka: LocalKafka, unique: Callable[[str], str]
) -> None:
    """Records go straight into a batch until it is full; the next one starts a new batch
    (here ~16 batches per partition, over several send_many calls)."""
    topic = unique("out")
    pipe = _pipe(kafka, "kafka-python", unique, batch_size=16 * 1024)
    pipe.ensure_topics({topic: 2})
    first, second = _numbered(topic, 250, 1000, 0), _numbered(topic, 250, 1000, 1)
    pipe.begin()
    for start in range(0, 250, 50):  # slices, as the service hands them over
        pipe.send_many(first[start : start + 50] + second[start : start + 50])
    pipe.commit({})
    pipe.close()
    landed = sorted(read_committed(kafka.bootstrap_servers, topic, 500), key=lambda r: r.offset)
    for partition, sent in ((0, first), (1, second)):
        got = [(r.key, r.value, r.headers) for r in landed if r.partition == partition]
        assert got == [(r.key, r.value, list(r.headers)) for r in sent]


def test_kafka_python_send_many_keeps_order_when_send_starts_a_batch_between(
    kafka: LocalKafka, unique: Callable[[str], str]
) -> None:
    """A record that takes `send` (a null header value) and does not fit the open batch
    starts a new one; the records after it go there, not back into the older batch."""
    topic = unique("out")
    pipe = _pipe(kafka, "kafka-python", unique, batch_size=4096)
    pipe.ensure_topics({topic: 1})
    sent: list[OutRecord] = []
    pipe.begin()
    for t in range(5):
        batch = [OutRecord(topic, b"%d-a%d" % (t, i), b"a" * 1000, [], None, 0) for i in range(3)]
        batch.append(OutRecord(topic, b"%d-null" % t, b"n" * 1500, [("h", None)], None, 0))
        batch.append(OutRecord(topic, b"%d-small" % t, b"s", [], None, 0))
        pipe.send_many(batch)
        sent.extend(batch)
    pipe.commit({})
    pipe.close()
    landed = sorted(
        read_committed(kafka.bootstrap_servers, topic, len(sent)), key=lambda r: r.offset
    )
    assert [r.key for r in landed] == [r.key for r in sent]


def test_kafka_python_send_many_lands_every_record_of_a_batch_the_broker_splits(
    kafka: LocalKafka, unique: Callable[[str], str]
) -> None:
    """A batch larger than the topic's max.message.bytes is refused, split and sent again by
    kafka-python; the records appended straight into it land once each, in order."""
    topic = unique("out")
    pipe = _pipe(kafka, "kafka-python", unique)
    pipe.ensure_topics({topic: 1}, {topic: {"max.message.bytes": "8192"}})
    sent = _numbered(topic, 40, 1000)  # one 40 KB batch: split down to ~5 KB ones
    pipe.begin()
    pipe.send_many(sent)
    pipe.commit({})
    pipe.close()
    landed = sorted(read_committed(kafka.bootstrap_servers, topic, 40), key=lambda r: r.offset)
    assert [(r.key, r.value) for r in landed] == [(r.key, r.value) for r in sent]


def test_kafka_python_a_record_refused_inside_a_split_batch_fails_the_commit(
    kafka: LocalKafka, unique: Callable[[str], str]
) -> None:
    """The one record the broker refuses even alone is not its batch's first, so it has no
    future of its own: the commit still fails (kafka-python bumps the epoch, and the other
    batches fail out of sequence) and nothing of it is committed. Retried as the service
    retries (abort, begin again), a later transaction commits: kafka-python's first one
    after the bump fails out of sequence too (with or without send_many's direct appends),
    and the abort after it replaces the producer."""
    topic = unique("out")
    pipe = _pipe(kafka, "kafka-python", unique)
    pipe.ensure_topics({topic: 1}, {topic: {"max.message.bytes": "8192"}})
    sent = _numbered(topic, 5, 1000)
    sent.insert(3, OutRecord(topic, b"big", b"b" * 12_000, [], None, 0))
    pipe.begin()
    pipe.send_many(sent)
    with pytest.raises((TransientTransportError, RecordTooLargeError)):
        pipe.commit({})
    pipe.abort()
    # Two attempts here, more when busy.
    commit_retried(pipe, lambda: pipe.send_many([OutRecord(topic, b"retry", b"r", [], None, 0)]))
    pipe.close()
    assert [r.key for r in read_committed(kafka.bootstrap_servers, topic, 1)] == [b"retry"]
