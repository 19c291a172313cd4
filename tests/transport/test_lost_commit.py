"""Which partition a transaction of offsets alone may name, and when one is committed
(guard/transport/lost_commit.py)."""

from __future__ import annotations

from collections.abc import Mapping

from guard.errors import TransientTransportError
from guard.transport.base import TopicPartition
from guard.transport.lost_commit import anchor, complete_lost_commit

A0, A1, A2 = ("a", 0), ("a", 1), ("a", 2)


def _first(tp: TopicPartition) -> int:
    return 100 + tp[1]


class FakeSide:
    """Assigned partitions, of which `stuck` do not read back; records what is committed."""

    def __init__(self, committed: Mapping[TopicPartition, int | None], stuck: set[TopicPartition]):
        self.committed = dict(committed)
        self.stuck = stuck
        self.commits: list[dict[TopicPartition, int]] = []

    def assigned(self) -> list[TopicPartition]:
        return sorted(set(self.committed) | self.stuck)

    def committed_now(self, tp: TopicPartition, timeout_s: float) -> int | None:
        if tp in self.stuck:
            raise TransientTransportError("committed: _TIMED_OUT")
        return self.committed[tp]

    def first_offset(self, tp: TopicPartition) -> int:
        return _first(tp)

    def commit_offsets_only(self, offsets: Mapping[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))


def test_a_partition_whose_committed_offset_reads_back_is_named_with_that_offset() -> None:
    assert anchor({A1: 7, A2: None}, {A0: 3}, _first, earliest=True) == (A1, 7)


def test_without_one_a_stuck_partition_this_member_committed_is_named_with_its_last_offset() -> (
    None
):
    assert anchor({A2: None}, {A0: 3}, _first, earliest=True) == (A0, 3)


def test_with_earliest_a_partition_never_committed_is_named_at_its_first_offset() -> None:
    assert anchor({A2: None}, {}, _first, earliest=True) == (A2, 102)


def test_with_latest_and_nothing_known_no_partition_is_named() -> None:
    assert anchor({A2: None}, {}, _first, earliest=False) is None


def test_offsets_that_all_read_back_commit_nothing() -> None:
    side = FakeSide({A0: 5, A1: None}, stuck=set())
    assert complete_lost_commit(side, {A0: 5}, earliest=True) is False
    assert side.commits == []


def test_a_stuck_partition_commits_offsets_alone_naming_a_stable_one() -> None:
    side = FakeSide({A1: 9, A2: None}, stuck={A0})
    assert complete_lost_commit(side, {}, earliest=True) is True
    assert side.commits == [{A1: 9}]


def test_only_stuck_partitions_this_member_committed_are_named_from_memory() -> None:
    # A1's remembered offset is not used: A1 reads back, with nothing committed (earliest).
    side = FakeSide({A1: None}, stuck={A0})
    assert complete_lost_commit(side, {A0: 4, A1: 8}, earliest=True) is True
    assert side.commits == [{A0: 4}]


def test_every_partition_stuck_and_nothing_remembered_commits_nothing() -> None:
    side = FakeSide({}, stuck={A0, A1})
    assert complete_lost_commit(side, {}, earliest=True) is False
    assert side.commits == []
