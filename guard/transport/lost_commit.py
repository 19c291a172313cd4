"""Abort a transaction the broker left without markers: the group's offsets unstable for good.

A broker stopped (SIGTERM) just after it acknowledged a commit can record the transaction as
complete without writing its markers: seen with Kafka 4.4 on one node, most likely because
its coordinator skips the markers of partitions it finds no leader for ("likely deleted"), as
every partition is during a single node's controlled shutdown. The transaction log says
CompleteCommit; the output partitions and `__consumer_offsets` hold its records and offsets
with no marker. Those offsets then stay *pending* for good: a read_committed member's read of
the group's committed offsets waits on them ("unstable"), so the guard can neither rewind nor
start fetching, and nothing is ever committed again (docs/reliability.md, "Lost transaction
markers").

Each place the lost transaction wrote to is settled by the next marker this producer id
writes there, so the places can end up disagreeing: after such a stop the guard's next
transaction was aborted, and its abort marker aborted the lost records in the partitions both
had written to, while the lost offsets, in no later transaction, stayed pending. Completing
them as committed would then skip records that were never delivered; so the lost transaction
is aborted everywhere at once instead. A member whose offsets do not read back begins a
transaction of its own producer id (its transactional id keeps the id), writes one marker
record (`MARK_HEADER`) to every partition of every topic it writes to, adds offsets for the
group, and aborts it: the abort markers reach each place the lost transaction could have
written, its records and offsets are aborted together (the marker records too: read_committed
readers never see them), and its batch is processed again from the committed offsets, as after
any abort. The producer is new or between transactions, so none of its own transactions is
legitimately open; another member's open transaction is untouched (its markers come from its
own producer id). A read that fails while the partition's leader does not answer either is an
outage, the retry loop's business: nothing is aborted then.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

import structlog
from kafka.errors import KafkaError

from guard.config.settings import KafkaSettings
from guard.errors import TransientTransportError
from guard.transport.base import OutRecord, TopicPartition
from guard.transport.stale_transactions import end_timed_out_transactions

log = structlog.get_logger(__name__)

# How long one partition's committed offset may take to read back before it counts as unstable.
PROBE_S = 2.0
# On the marker records of the aborting transaction (never visible to read_committed readers).
MARK_HEADER = "guard.lost-transaction"


class LostTransactionSide(Protocol):
    """What a pipe lends to `abort_lost_transaction`."""

    def assigned(self) -> list[TopicPartition]: ...

    def committed_now(self, tp: TopicPartition, timeout_s: float) -> int | None:
        """The committed offset (None: none); raises TransientTransportError when the read
        does not answer within `timeout_s` (unstable, or the broker is away)."""
        ...

    def leader_answers(self, tp: TopicPartition, timeout_s: float) -> bool:
        """Whether `tp`'s leader answers (its offsets) within `timeout_s`: when it does not,
        the broker is away and a committed read failing says nothing of unstable offsets."""
        ...

    def written_partitions(self) -> list[TopicPartition]:
        """Every partition of every topic this member's transactions write to."""
        ...

    def abort_writing(
        self, records: Sequence[OutRecord], offsets: Mapping[TopicPartition, int]
    ) -> None:
        """A transaction that writes `records` and `offsets` (once the records are
        delivered), then is aborted."""
        ...


def markers(partitions: Sequence[TopicPartition]) -> list[OutRecord]:
    """One empty marker record per partition."""
    return [OutRecord(t, None, b"", [(MARK_HEADER, b"abort")], None, p) for t, p in partitions]


def abort_lost_transaction(
    side: LostTransactionSide, partitions: Sequence[TopicPartition] | None = None
) -> bool:
    """When the committed offset of some of `partitions` (default: every assigned one) does
    not read back, abort this producer's lost transaction, if that is what holds them,
    everywhere it may have written (module docstring). True when it aborted one."""
    stuck: list[TopicPartition] = []
    for tp in side.assigned() if partitions is None else partitions:
        try:
            side.committed_now(tp, PROBE_S)
        except TransientTransportError:
            stuck.append(tp)
    if not stuck or not side.leader_answers(stuck[0], PROBE_S):
        return False
    written = side.written_partitions()
    log.warning(
        "committed offsets do not read back (unstable); aborting a transaction of this "
        "producer the broker left open, in every partition it may have written to",
        partitions=[f"{t}/{p}" for t, p in sorted(stuck)],
        written_partitions=len(written),
    )
    # The offsets' value is never read: the transaction is aborted.
    side.abort_writing(markers(written), {stuck[0]: 0})
    return True


def every_partition(
    topics: Iterable[str], partition_count: Callable[[str], int | None]
) -> list[TopicPartition]:
    """Each partition of `topics` (in topic order), for `written_partitions`."""
    return [(t, p) for t in sorted(topics) for p in range(partition_count(t) or 0)]


class UnsetPositionLook:
    """While polls find nothing, partitions that stay without a fetch position wait on
    unstable offsets. A local check every `FIRST_LOOK_S` notes the partitions without one; those
    still without one at the next check are looked into, then at most once per transaction
    timeout (at least 5 s), or sooner when an open transaction holding the group's offsets
    runs out before that:

    - a transaction of another producer past its timeout (a member that died inside one) is
      aborted at once (`stale_transactions`), not when the broker's sweep comes round;
    - with no open transaction on the group's offsets at all, the unstable offsets are this
      producer's lost transaction (`abort_lost_transaction`).

    Only a look: a broker away fails it, and the poll goes on as before."""

    FIRST_LOOK_S = 2.0

    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self.every_s = max(settings.transaction_timeout_ms / 1000, 5.0)
        self._seen: set[TopicPartition] = set()  # without a position at the last check
        self.postpone()

    def postpone(self, seconds: float | None = None) -> None:
        """The next check in `seconds` (default: `FIRST_LOOK_S`, as after an assignment)."""
        self._next = time.monotonic() + (self.FIRST_LOOK_S if seconds is None else seconds)

    def maybe(self, side: LostTransactionSide, unset: Callable[[], list[TopicPartition]]) -> None:
        if time.monotonic() < self._next:
            return
        self.postpone()
        try:
            now_unset = set(unset())
            stuck, self._seen = sorted(now_unset & self._seen), now_unset
            if not stuck:  # none, or only since the last check (a fresh assignment)
                return
            self.postpone(self.every_s)
            log.debug(
                "partitions still without a position", partitions=[f"{t}/{p}" for t, p in stuck]
            )
            try:
                found = end_timed_out_transactions(self.settings)
            except KafkaError as exc:  # not answered or not allowed: the broker sweeps them
                log.info("could not list open transactions", error=str(exc))
                found = None
            except Exception:  # a shortcut only: its failure must not end the run
                log.warning("looking for timed-out transactions failed", exc_info=True)
                found = None
            log.debug("open transactions on the group's offsets", found=found)
            if found is not None and found.next_s is not None:
                self.postpone(min(self.every_s, found.next_s))
            if found is None or not found.ongoing:
                abort_lost_transaction(side, stuck)
        except TransientTransportError as exc:
            log.info("could not look for unstable offsets", error=str(exc))
