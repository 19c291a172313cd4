"""Finish a commit the broker acknowledged but never completed: the group's offsets unstable.

A broker stopped (SIGTERM) just after it acknowledged a commit can record the transaction as
complete without writing its markers: seen with Kafka 4.4 on one node, most likely because
its coordinator skips the markers of partitions it finds no leader for ("likely deleted"), as
every partition is during a single node's controlled shutdown. The transaction log says
CompleteCommit; the output partitions and `__consumer_offsets` hold its records and offsets
with no marker. Those offsets then stay *pending* for good: a read_committed member's read of
the group's committed offsets waits on them ("unstable"), so the guard can neither rewind nor
start fetching, and nothing is ever committed again (docs/reliability.md, "Lost markers").

Only a marker from the same producer id clears them, and the guard's transactional id keeps
its producer id: its next transaction that carries offsets for the group commits them, with
the lost transaction's records (what the broker had acknowledged). The wait is a deadlock only
because nothing is committed before the offsets are read, so a member whose offsets are
unstable commits a transaction of offsets alone, naming one partition whose right offset it
knows (`anchor`): one whose committed offset reads back stable, else one this member committed
itself and has owned since, else (auto_offset_reset=earliest) one with no committed offset, at
its first offset, which is where it would start anyway. Its producer is new or between
transactions, so none of its own transactions is legitimately open; another member's open
transaction is untouched (its marker comes from its own producer id).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

import structlog

from guard.errors import TransientTransportError
from guard.transport.base import TopicPartition

log = structlog.get_logger(__name__)

# How long one partition's committed offset may take to read back before it counts as unstable.
PROBE_S = 2.0


class OffsetsSide(Protocol):
    """What a pipe lends to `complete_lost_commit`: its assignment, reads and a commit."""

    def assigned(self) -> list[TopicPartition]: ...

    def committed_now(self, tp: TopicPartition, timeout_s: float) -> int | None:
        """The committed offset (None: none); raises TransientTransportError when the read
        does not answer within `timeout_s` (unstable, or the broker is away)."""
        ...

    def first_offset(self, tp: TopicPartition) -> int: ...

    def commit_offsets_only(self, offsets: Mapping[TopicPartition, int]) -> None:
        """A transaction with these offsets and no records, committed."""
        ...


def anchor(
    stable: Mapping[TopicPartition, int | None],
    acked: Mapping[TopicPartition, int],
    first_offset: Callable[[TopicPartition], int],
    earliest: bool,
) -> tuple[TopicPartition, int] | None:
    """The partition (and offset) a transaction of offsets alone may name without moving
    anything: see the module docstring for the order. None when no partition qualifies."""
    for tp in sorted(stable):
        offset = stable[tp]
        if offset is not None and offset >= 0:
            return tp, offset
    for tp in sorted(acked):
        return tp, acked[tp]
    if earliest:
        for tp in sorted(stable):
            return tp, first_offset(tp)
    return None


def complete_lost_commit(
    side: OffsetsSide, acked: Mapping[TopicPartition, int], earliest: bool
) -> bool:
    """When some assigned partition's committed offset does not read back, commit offsets
    alone (`anchor`) so this producer's lost transaction, if that is what holds them, is
    completed. True when it committed."""
    stable: dict[TopicPartition, int | None] = {}
    stuck: list[TopicPartition] = []
    for tp in side.assigned():
        try:
            stable[tp] = side.committed_now(tp, PROBE_S)
        except TransientTransportError:
            stuck.append(tp)
    if not stuck:
        return False
    named = [f"{t}/{p}" for t, p in sorted(stuck)]
    choice = anchor(stable, {tp: o for tp, o in acked.items() if tp in stuck}, side.first_offset,
                    earliest)  # fmt: skip
    if choice is None:
        log.error(
            "committed offsets do not read back and no partition has a known offset to commit "
            "them with; if a transaction of this guard's id lost its markers, "
            "kafka-transactions.sh find-hanging names it",
            partitions=named,
        )
        return False
    (topic, partition), offset = choice
    log.warning(
        "committed offsets do not read back (unstable); committing offsets alone to complete "
        "a transaction of this producer the broker left open",
        partitions=named,
        anchor=f"{topic}/{partition}",
        offset=offset,
    )
    side.commit_offsets_only({(topic, partition): offset})
    return True
