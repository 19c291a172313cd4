"""When a transaction the broker left open is aborted, and where its abort reaches
(guard/transport/lost_commit.py)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import pytest
from kafka.errors import KafkaTimeoutError

from guard.config.settings import KafkaSettings
from guard.errors import TransientTransportError
from guard.transport import lost_commit
from guard.transport.base import OutRecord, TopicPartition
from guard.transport.lost_commit import MARK_HEADER, UnsetPositionLook, abort_lost_transaction
from guard.transport.stale_transactions import Found

A0, A1 = ("a", 0), ("a", 1)
WRITTEN = [("a.valid", 0), ("a.valid", 1), ("a.quarantine", 0)]


class FakeSide:
    """Assigned partitions, of which `stuck` do not read back; records what is aborted."""

    def __init__(
        self, assigned: list[TopicPartition], stuck: set[TopicPartition], broker_up: bool = True
    ) -> None:
        self._assigned = assigned
        self.stuck = stuck
        self.broker_up = broker_up
        self.aborted: list[tuple[list[OutRecord], dict[TopicPartition, int]]] = []

    def assigned(self) -> list[TopicPartition]:
        return self._assigned

    def committed_now(self, tp: TopicPartition, timeout_s: float) -> int | None:
        if tp in self.stuck:
            raise TransientTransportError("committed: _TIMED_OUT")
        return 5

    def leader_answers(self, tp: TopicPartition, timeout_s: float) -> bool:
        return self.broker_up

    def written_partitions(self) -> list[TopicPartition]:
        return WRITTEN

    def abort_writing(
        self, records: Sequence[OutRecord], offsets: Mapping[TopicPartition, int]
    ) -> None:
        self.aborted.append((list(records), dict(offsets)))


def test_offsets_that_all_read_back_abort_nothing() -> None:
    side = FakeSide([A0, A1], stuck=set())
    assert abort_lost_transaction(side) is False
    assert side.aborted == []


def test_a_stuck_partition_aborts_a_transaction_with_the_groups_offsets() -> None:
    side = FakeSide([A0, A1], stuck={A1})
    assert abort_lost_transaction(side) is True
    [(_, offsets)] = side.aborted
    assert list(offsets) == [A1]


def test_the_abort_writes_one_marker_record_to_every_partition_written_to() -> None:
    side = FakeSide([A0], stuck={A0})
    abort_lost_transaction(side)
    [(records, _)] = side.aborted
    assert [(r.topic, r.partition) for r in records] == WRITTEN
    assert all(r.headers == [(MARK_HEADER, b"abort")] for r in records)


def test_reads_failing_while_the_leaders_do_not_answer_either_are_an_outage_not_aborted() -> None:
    side = FakeSide([A0, A1], stuck={A0, A1}, broker_up=False)
    assert abort_lost_transaction(side) is False
    assert side.aborted == []


def _look(monkeypatch: pytest.MonkeyPatch, found: Found | Exception) -> UnsetPositionLook:
    def end(_settings: KafkaSettings) -> Found:
        if isinstance(found, Exception):
            raise found
        return found

    monkeypatch.setattr(lost_commit, "end_timed_out_transactions", end)
    look = UnsetPositionLook(KafkaSettings())
    look._seen = {A0}  # without a position at the last check too
    look.postpone(0)
    return look


def test_unstable_offsets_held_by_another_producers_open_transaction_are_not_a_lost_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An open transaction on the group's offsets explains them: no abort of our own."""
    side = FakeSide([A0], stuck={A0})
    _look(monkeypatch, Found(ongoing=1, fenced=[], next_s=3.0)).maybe(side, lambda: [A0])
    assert side.aborted == []


def test_with_no_open_transaction_on_the_groups_offsets_the_lost_one_is_aborted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    side = FakeSide([A0], stuck={A0})
    _look(monkeypatch, Found(ongoing=0, fenced=[], next_s=None)).maybe(side, lambda: [A0])
    assert len(side.aborted) == 1


def test_a_broker_that_will_not_list_transactions_still_gets_the_lost_transaction_look(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    side = FakeSide([A0], stuck={A0})
    _look(monkeypatch, KafkaTimeoutError("list transactions")).maybe(side, lambda: [A0])
    assert len(side.aborted) == 1


def test_the_next_look_comes_when_the_soonest_open_transaction_runs_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    look = _look(monkeypatch, Found(ongoing=1, fenced=[], next_s=1.5))
    before = time.monotonic()
    look.maybe(FakeSide([A0], stuck={A0}), lambda: [A0])
    assert look._next - before <= 1.5 + 0.5  # not the whole period (10 s)


def test_a_partition_just_assigned_is_not_looked_into_before_the_next_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a position at one check only (a fresh assignment): nothing is done yet."""
    side = FakeSide([A0], stuck={A0})
    look = _look(monkeypatch, Found(ongoing=0, fenced=[], next_s=None))
    look._seen = set()
    look.maybe(side, lambda: [A0])
    assert side.aborted == []
    look.postpone(0)
    look.maybe(side, lambda: [A0])
    assert len(side.aborted) == 1
