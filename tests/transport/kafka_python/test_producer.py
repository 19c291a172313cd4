"""How TxProducer follows the batches send_many appends to without a future per record: a
batch kafka-python's sender splits is followed into its halves, and any failure among them
is found. Real kafka-python accumulators and batches, no broker."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import kafka.errors as kerr
import pytest
from kafka.producer.kafka import KafkaProducer
from kafka.producer.record_accumulator import RecordAccumulator
from kafka.record.memory_records import MemoryRecords
from kafka.structs import TopicPartition

from guard.errors import TransientTransportError
from guard.transport.kafka_python import records
from guard.transport.kafka_python.producer import TxProducer, _failure_of, _follow_splits

_TP = TopicPartition("out", 0)


def _accumulator() -> Any:
    records.install()
    _follow_splits()
    config = {
        k: v
        for k, v in KafkaProducer.DEFAULT_CONFIG.items()
        if k in RecordAccumulator.DEFAULT_CONFIG
    }
    config.update(batch_size=1 << 20, message_version=2, compression_attrs=0)
    acc = RecordAccumulator(**config)
    acc._guard_splits = {}
    return acc


def _batch_of(acc: Any, n: int) -> Any:
    """One batch: its first record through the accumulator (with a future), the others
    straight into its record builder, as send_many appends them."""
    acc.append(_TP, 1_700_000_000_000, b"0", b"v0", [], abort_on_new_batch=False)
    batch = acc._batches[_TP][-1]
    for i in range(1, n):
        assert batch.records.append(1_700_000_000_000 + i, b"%d" % i, b"v%d" % i, []) is not None
    return batch


def _keys(batch: Any) -> list[bytes]:
    return [r.key for b in MemoryRecords(batch.records.buffer()) for r in b]


def _split(acc: Any, batch: Any) -> list[Any]:
    """What the sender does with a batch the broker refused as too large."""
    acc._batches[_TP].remove(batch)
    batch.records.close()
    acc.split_and_reenqueue(batch)
    halves: list[Any] = acc._guard_splits[id(batch)]
    return halves


def test_a_split_batch_is_followed_into_halves_holding_every_record() -> None:
    acc = _accumulator()
    batch = _batch_of(acc, 10)
    halves = _split(acc, batch)
    assert len(halves) == 2 and list(acc._batches[_TP]) == halves
    for half in halves:
        half.records.close()
    assert [k for half in halves for k in _keys(half)] == [b"%d" % i for i in range(10)]


def _delivered(batch: Any) -> None:
    batch.complete(0, -1)


def _failed(batch: Any, error: BaseException) -> None:
    batch.complete_exceptionally(error, lambda _index: error)


def test_a_delivered_batch_has_no_failure() -> None:
    acc = _accumulator()
    batch = _batch_of(acc, 3)
    _delivered(batch)
    assert _failure_of(batch, acc._guard_splits) is None


def test_a_failed_batch_gives_its_error() -> None:
    acc = _accumulator()
    batch = _batch_of(acc, 3)
    error = kerr.KafkaTimeoutError("expired")
    _failed(batch, error)
    assert _failure_of(batch, acc._guard_splits) is error


@pytest.mark.parametrize("which", [0, 1])
def test_a_failed_half_of_a_split_batch_is_found(which: int) -> None:
    """The second half's records have no futures at all: only following the split finds
    that they were not delivered (a timed-out batch leaves the transaction committable)."""
    acc = _accumulator()
    batch = _batch_of(acc, 10)
    error = kerr.KafkaTimeoutError("delivery timeout")
    for i, half in enumerate(_split(acc, batch)):
        if i == which:
            _failed(half, error)
        else:
            _delivered(half)
    assert _failure_of(batch, acc._guard_splits) is error


def test_a_split_batch_whose_halves_were_delivered_has_no_failure() -> None:
    acc = _accumulator()
    batch = _batch_of(acc, 10)
    for half in _split(acc, batch):
        _delivered(half)
    assert _failure_of(batch, acc._guard_splits) is None


def test_a_batch_split_twice_is_followed_to_its_quarters() -> None:
    acc = _accumulator()
    batch = _batch_of(acc, 8)
    first, second = _split(acc, batch)
    quarters = _split(acc, first)  # the first half is refused again
    _delivered(second)
    _delivered(quarters[0])
    error = kerr.KafkaTimeoutError("delivery timeout")
    _failed(quarters[1], error)
    assert _failure_of(batch, acc._guard_splits) is error


def test_a_batch_neither_done_nor_split_is_a_failure() -> None:
    acc = _accumulator()
    batch = _batch_of(acc, 3)
    failure = _failure_of(batch, acc._guard_splits)
    assert isinstance(failure, kerr.KafkaError) and "hangs" in str(failure)


def test_a_failed_half_fails_the_delivery_naming_its_topic() -> None:
    """`_deliver` (what commit runs first) raises for a failed half of a batch send_many
    appended to, though no future of its records failed."""
    acc = _accumulator()
    batch = _batch_of(acc, 10)
    first, second = _split(acc, batch)
    _delivered(first)
    _failed(second, kerr.KafkaTimeoutError("delivery timeout"))
    tx: Any = object.__new__(TxProducer)
    tx._producer = SimpleNamespace(_accumulator=acc)
    tx._futures, tx._direct = [], [("out", batch)]
    tx._step = lambda _action, _run: None  # the flush: already done here
    with pytest.raises(TransientTransportError, match="send to out: KafkaTimeoutError"):
        tx._deliver(None, None)


def test_splitting_a_half_without_futures_wakes_a_flush_waiting_on_it() -> None:
    """A half holding only records appended without futures has no future to move onto its
    own halves (which is what wakes a waiting flush): the split itself wakes it."""
    acc = _accumulator()
    batch = _batch_of(acc, 8)
    _first, second = _split(acc, batch)  # the second half: direct appends only
    assert not second._record_futures
    assert not second.produce_future._latch.is_set()
    _split(acc, second)
    assert second.produce_future._latch.is_set() and not second.produce_future.is_done
