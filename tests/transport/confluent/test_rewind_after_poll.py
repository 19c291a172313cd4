"""Records a poll took but the service never committed are read again: after a poll that
fails on an error event behind them (librdkafka's position is already past them), also on a
partition with no committed offset yet (a new group, topic or partition), and after a batch
dropped for a rebalance, even when an idle commit comes in between. Without a broker:
stand-ins."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import KafkaError
from confluent_kafka import TopicPartition as CTopicPartition

from guard.errors import TransientTransportError
from guard.transport.confluent import pipe as pipe_module
from guard.transport.confluent.errors import ErrorWatch
from guard.transport.confluent.pipe import ConfluentPipe

OFFSET_INVALID = -1001  # what `committed` says of a partition with nothing committed


class _Msg:
    def __init__(self, partition: int, offset: int, error: KafkaError | None = None) -> None:
        self._partition, self._offset, self._error = partition, offset, error

    def error(self) -> KafkaError | None:
        return self._error

    def topic(self) -> str:
        return "in"

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b"k%d" % self._offset

    def value(self) -> bytes:
        return b"{}"

    def headers(self) -> None:
        return None

    def timestamp(self) -> tuple[int, int]:
        return (1, 1_700_000_000_000)


class _Consumer:
    """Hands out two records of partition 2 with a fetch error behind them, once."""

    def __init__(self) -> None:
        self.batches = [[_Msg(2, 0), _Msg(2, 1), _Msg(2, 2, KafkaError(KafkaError.UNKNOWN))]]
        self.seeks: list[tuple[str, int, int]] = []

    def consume(self, _n: int, _timeout: float) -> list[_Msg]:
        return self.batches.pop(0) if self.batches else []

    def poll(self, _timeout: float) -> None:
        return None

    def assignment(self) -> list[Any]:
        return [CTopicPartition("in", 2)]

    def committed(self, partitions: list[Any], _timeout: float) -> list[Any]:
        return [CTopicPartition(tp.topic, tp.partition, OFFSET_INVALID) for tp in partitions]

    def seek(self, tp: Any) -> None:
        self.seeks.append((tp.topic, tp.partition, tp.offset))

    def consumer_group_metadata(self) -> object:
        return object()


class _Producer:
    def ready(self) -> None:
        pass

    def abort(self) -> None:
        pass

    def commit(self, _offsets: Any, _metadata: object) -> None:
        pass


class _NoLook:
    def maybe(self, *_args: object) -> None:
        pass


def _pipe(monkeypatch: pytest.MonkeyPatch, consumer: _Consumer) -> ConfluentPipe:
    pipe = ConfluentPipe.__new__(ConfluentPipe)
    pipe._consumer = consumer  # type: ignore[assignment]
    pipe._producer = _Producer()  # type: ignore[assignment]
    pipe._watch = ErrorWatch()
    pipe._timeout_s = 1.0
    pipe._uncommitted = False
    pipe._first = {}
    pipe._rebalanced = False
    pipe._rejoin_due = None
    pipe._unset_look = _NoLook()  # type: ignore[assignment]
    monkeypatch.setattr(pipe_module, "abort_lost_transaction", lambda _side: False)
    return pipe


def test_records_taken_before_a_failing_event_are_rewound_to_on_an_uncommitted_partition(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumer = _Consumer()
    pipe = _pipe(monkeypatch, consumer)
    with pytest.raises(TransientTransportError):
        pipe.poll(10, 100)
    pipe.abort()  # what the service does after a failed poll
    assert consumer.seeks == [("in", 2, 0)], "back to the first record taken"


def test_an_idle_commit_after_a_batch_dropped_for_a_rebalance_leaves_its_rewind_due(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch polled across a rebalance is dropped, to be rewound by the next poll; an idle
    commit in between (observers' records, no offsets) must not cancel that rewind: with
    cooperative assignment a partition kept through the rebalance keeps its position."""
    consumer = _Consumer()
    consumer.batches = [[_Msg(2, 0), _Msg(2, 1)]]
    pipe = _pipe(monkeypatch, consumer)
    taken = consumer.consume

    def consume_across_a_rebalance(n: int, timeout: float) -> list[_Msg]:
        pipe._rebalanced = True  # the assignment callbacks run inside consume
        return taken(n, timeout)

    consumer.consume = consume_across_a_rebalance  # type: ignore[method-assign]
    assert pipe.poll(10, 100) == []
    pipe.commit({})
    pipe.poll(10, 100)
    assert consumer.seeks == [("in", 2, 0)], "the dropped records are read again"
