"""Both pipes make their producer ready before they rewind: a producer abandoned inside a
transaction leaves the group's offsets unstable, and reading them waits until the open
transaction ends. A new producer's init_transactions ends it at once; a rewind that read the
offsets first waited on them until the transaction timed out (seen in the fault suite's
in-place outage on kafka-python). Without a broker: the clients are stand-ins that record
the order of calls."""

from __future__ import annotations

from typing import Any

import pytest

from guard.errors import TransientTransportError
from guard.transport.confluent.pipe import ConfluentPipe
from guard.transport.kafka_python.pipe import KafkaPipe


class _Producer:
    def __init__(self, calls: list[str], broker_up: bool = True) -> None:
        self.calls, self.broker_up = calls, broker_up

    def ready(self) -> None:
        if not self.broker_up:
            raise TransientTransportError("create producer: broker down")
        self.calls.append("producer ready")

    def abort(self) -> None:
        self.calls.append("abort")


class _KafkaPythonConsumer:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def assignment(self) -> set[Any]:
        from kafka.structs import TopicPartition

        return {TopicPartition("in", 0)}

    def committed(self, _tp: Any, timeout_ms: int) -> int:
        self.calls.append("read committed")
        return 7

    def seek(self, _tp: Any, _offset: int) -> None:
        self.calls.append("seek")


class _ConfluentConsumer:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def assignment(self) -> list[Any]:
        from confluent_kafka import TopicPartition

        return [TopicPartition("in", 0)]

    def committed(self, partitions: list[Any], _timeout: float) -> list[Any]:
        from confluent_kafka import TopicPartition

        self.calls.append("read committed")
        return [TopicPartition(p.topic, p.partition, 7) for p in partitions]

    def seek(self, _tp: Any) -> None:
        self.calls.append("seek")


def _kafka_python_pipe(calls: list[str], broker_up: bool = True) -> KafkaPipe:
    pipe = KafkaPipe.__new__(KafkaPipe)
    pipe._consumer = _KafkaPythonConsumer(calls)
    pipe._producer = _Producer(calls, broker_up)  # type: ignore[assignment]
    pipe._timeout_ms = 1000
    pipe._uncommitted = True
    pipe._before = {}
    return pipe


def _confluent_pipe(calls: list[str], broker_up: bool = True) -> ConfluentPipe:
    pipe = ConfluentPipe.__new__(ConfluentPipe)
    pipe._consumer = _ConfluentConsumer(calls)  # type: ignore[assignment]
    pipe._producer = _Producer(calls, broker_up)  # type: ignore[assignment]
    pipe._timeout_s = 1.0
    pipe._uncommitted = True
    pipe._first = {}
    return pipe


PIPES = {"kafka-python": _kafka_python_pipe, "confluent": _confluent_pipe}


@pytest.mark.parametrize("client", sorted(PIPES))
def test_an_abort_makes_the_producer_ready_before_it_reads_the_committed_offsets(
    client: str,
) -> None:
    calls: list[str] = []
    PIPES[client](calls).abort()
    assert calls == ["abort", "producer ready", "read committed", "seek"]


@pytest.mark.parametrize("client", sorted(PIPES))
def test_a_rewind_while_no_producer_can_be_made_fails_fast_without_reading_offsets(
    client: str,
) -> None:
    calls: list[str] = []
    pipe = PIPES[client](calls, broker_up=False)
    with pytest.raises(TransientTransportError):
        pipe.abort()
    assert calls == ["abort"]
    assert pipe._uncommitted, "the next poll must rewind again"
