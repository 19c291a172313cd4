"""A rewind the kafka-python pipe owes is never forgotten: after a poll that raised (its
fetcher may have moved past records it never handed out), an abort whose rewind fails (the
broker still down) leaves it due, and the next poll does it. Without a broker: stand-ins."""

from __future__ import annotations

from typing import Any

import kafka.errors
import pytest
from kafka.structs import TopicPartition as KTopicPartition

from guard.errors import TransientTransportError
from guard.transport.kafka_python.pipe import KafkaPipe


class _Producer:
    broker_up = False

    def ready(self) -> None:
        if not self.broker_up:
            raise TransientTransportError("create producer: broker down")

    def abort(self) -> None:
        pass


class _Subscription:
    def __init__(self) -> None:
        self.assignment: dict[Any, Any] = {}

    def missing_fetch_positions(self) -> list[Any]:
        return []


class _Consumer:
    def __init__(self) -> None:
        self.seeks: list[tuple[int, int]] = []
        self._subscription = _Subscription()

    def assignment(self) -> set[Any]:
        return {KTopicPartition("in", 0)}

    def committed(self, _tp: Any, timeout_ms: int) -> int:
        return 7

    def seek(self, tp: Any, offset: int) -> None:
        self.seeks.append((tp.partition, offset))

    def poll(self, timeout_ms: int, max_records: int) -> dict[Any, Any]:
        if not self.seeks:  # until rewound: the fetch fails (after taking records, say)
            raise kafka.errors.KafkaConnectionError("fetch failed")
        return {}


class _NoLook:
    def maybe(self, *_args: object) -> None:
        pass


def test_an_abort_whose_rewind_fails_leaves_it_to_the_next_poll() -> None:
    pipe = KafkaPipe.__new__(KafkaPipe)
    consumer, producer = _Consumer(), _Producer()
    pipe._consumer = consumer  # type: ignore[assignment]
    pipe._producer = producer  # type: ignore[assignment]
    pipe._timeout_ms = 1000
    pipe._uncommitted = False  # the last batch was committed
    pipe._before = {}
    pipe._unset_look = _NoLook()  # type: ignore[assignment]
    with pytest.raises(TransientTransportError):
        pipe.poll(10, 100)
    with pytest.raises(TransientTransportError):
        pipe.abort()  # what the service does next; the broker is still down
    assert consumer.seeks == []
    producer.broker_up = True
    pipe.poll(10, 100)
    assert consumer.seeks == [(0, 7)], "rewound to the committed offset before reading on"
