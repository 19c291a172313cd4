"""The batch's Kafka transaction as one object the service loop drives.

begin -> send a slice (as many times as the batch has slices) -> commit (the observers'
records, then the consumed offsets, then the commit itself); or abort. Exactly-once rests on
the pipe: offsets travel inside the producer's transaction, an aborted batch is rewound to the
committed offsets and polled again, and a producer that cannot abort is recreated with the
same transactional id (guard/transport/recreate.py), which fences the old one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import structlog

from guard.errors import TransientTransportError
from guard.routing.router import RoutedBatch, RoutingStats
from guard.service.probe import LoopProbe
from guard.service.watchdog import StepTracker
from guard.transport.base import OutRecord, Pipe, TopicPartition

log = structlog.get_logger(__name__)


class BatchObserver(Protocol):
    """Sees every routed batch, and may add records to the batch's transaction.

    Exactly-once for observers: `before_commit` must not change lasting state, only stage it
    and return the records to produce with the batch; `after_commit` applies the staged state
    (the transaction is durable); `after_abort` drops it (the batch will be polled again).
    When a poll returns nothing, `before_commit` gets an empty batch (so time-based work,
    such as closing a window, happens in a quiet stream too). `routed.broker_failing` says
    the broker failed and has not answered since: an empty poll then means nothing.

    Caveat: a commit that timed out may still have landed; the runner then calls
    `after_abort`, and that batch's observations are lost (never counted twice).
    """

    def before_commit(self, routed: RoutedBatch) -> list[OutRecord]: ...

    def after_commit(self) -> None: ...

    def after_abort(self) -> None: ...


class Transaction:
    """One transaction at a time over the service's pipe (attached once it is connected);
    every step is reported to the watchdog's tracker."""

    def __init__(
        self, tracker: StepTracker, observers: Sequence[BatchObserver], probe: LoopProbe
    ) -> None:
        self.tracker = tracker
        self.observers = observers
        self.probe = probe
        self.pipe: Pipe | None = None  # None until the service connects
        self.open = False
        # Set when a transaction fails or is dropped, or the probe cannot read the broker;
        # cleared when a transaction lands or the probe reads it (`broker_read`). Told to
        # observers with each batch (idle polls go on while the broker is down, empty).
        self.broker_failing = False

    def _pipe(self) -> Pipe:
        if self.pipe is None:
            raise RuntimeError("the transaction has no pipe: the service is not connected")
        return self.pipe

    def begin(self) -> None:
        with self.tracker.doing("begin"):
            self._pipe().begin()
        self.open = True

    def send(self, records: Sequence[OutRecord]) -> None:
        """Hand one slice's records to the producer: the client sends them while the next
        slice is routed."""
        pipe = self._pipe()
        with self.tracker.doing("send"):
            pipe.send_many(records)

    def commit(self, routed: RoutedBatch) -> None:
        """What observers add, then the offsets, in the open transaction; without one (an
        idle turn) a transaction of its own only if observers add records."""
        if self.observers:
            if routed.owned is None:
                routed.owned = self._owned()
            routed.broker_failing = self.broker_failing
        extra = [r for obs in self.observers for r in obs.before_commit(routed)]
        if extra and not self.open:
            self.begin()
        if self.open:
            self.send(extra)
            with self.tracker.doing("commit"):
                self._pipe().commit(routed.offsets)
            self.open = False
            self.broker_failing = False  # a transaction landed: the broker answers
        for obs in self.observers:
            obs.after_commit()

    def idle(self) -> None:
        """Show observers an empty batch, so time windows close on time in a quiet stream;
        what they emit is committed in a transaction of its own, with no offsets."""
        if self.observers:
            self.commit(RoutedBatch([], {}, RoutingStats(), []))

    def broker_read(self, answered: bool | None) -> None:
        """What a read of the broker outside a transaction found (the probe's lag read):
        True, it answered; False, it failed; None, no read was made."""
        if answered is not None:
            self.broker_failing = not answered

    def _owned(self) -> frozenset[TopicPartition] | None:
        """The source partitions this instance owns (for observers: a silent partition is
        one it owns); None when the client cannot say this turn, never a failure."""
        try:
            return frozenset(self._pipe().assigned())
        except Exception:
            return None

    def drop(self) -> None:
        """Forget the batch without asking the broker: observers drop it and the open
        transaction is left to be aborted by the next producer with this transactional id
        (or the broker's transaction timeout). For a stop or a rejoin while the broker
        fails, when an abort would only wait on it."""
        self.open = False
        self.broker_failing = True  # until a transaction lands or the broker is read
        for obs in self.observers:
            obs.after_abort()
        self.probe.aborted()

    def abort(self) -> None:
        """Drop the batch: observers forget it, the pipe aborts (recreating a producer that
        cannot) and rewinds. Never raises a transient failure: the pipe rewinds on its next
        poll whatever happened here, so nothing is skipped."""
        self.tracker.aborted_batch()
        self.drop()
        if self.pipe is None:  # never connected: nothing to abort
            return
        try:
            with self.tracker.doing("abort"):
                self.pipe.abort()
        except TransientTransportError as abort_exc:
            log.warning("abort failed", error=str(abort_exc))
