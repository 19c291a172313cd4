"""End, without waiting for the broker's sweep, transactions past their own timeout that hold
this group's offsets.

A member that dies inside a transaction after sending its offsets leaves them *unstable*: the
member that takes its partitions over cannot read where to start until that transaction ends.
The broker aborts a transaction once it is older than its `transaction.timeout.ms`, but only
when its sweep runs (`transaction.abort.timed.out.transaction.cleanup.interval.ms`, 10 s by
default), so a takeover waited the timeout plus up to 10 s more (10-20 s with the guard's
10 s). The new owner does not wait for the sweep: it lists the ongoing transactions, keeps
those that write to this group's `__consumer_offsets` partition, and fences each one already
past its own timeout by initialising a producer with its transactional id, which aborts the
open transaction and bumps the id's epoch, as the sweep itself does. A transaction still within
its timeout is never touched (it may be a live member's); the caller looks again when the
soonest of them runs out. The ages come from the broker's start time and this machine's clock,
plus `CLOCK_MARGIN_S`: clocks kept by NTP agree far closer than that.

confluent-kafka has no ListTransactions / DescribeTransactions (KIP-664), so both transports use
kafka-python's admin client and producer here, with the same connection settings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from kafka import KafkaAdminClient, KafkaProducer
from kafka import TopicPartition as KTopicPartition

from guard.config.settings import KafkaSettings
from guard.transport.kafka_python import config

log = structlog.get_logger(__name__)

OFFSETS_TOPIC = "__consumer_offsets"
CLOCK_MARGIN_S = 1.0
# Each admin call and the fencing producer's init wait at most this long.
CALL_TIMEOUT_MS = 5000
# Looks one watch makes after an assignment (each waits for the soonest timeout it found).
MAX_ROUNDS = 5


@dataclass(frozen=True)
class Found:
    ongoing: int  # ongoing transactions that hold this group's offsets
    fenced: list[str]  # the transactional ids fenced (their transactions aborted)
    next_s: float | None  # seconds until the soonest of the others is past its timeout


def offsets_partition(group_id: str, partitions: int) -> int:
    """The `__consumer_offsets` partition of `group_id`, as the broker picks it:
    `Utils.abs(groupId.hashCode()) % partitions` (Java's String.hashCode over UTF-16 units)."""
    data = group_id.encode("utf-16-be")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i : i + 2], "big")) & 0xFFFFFFFF
    signed = h - (1 << 32) if h >= 1 << 31 else h
    return 0 if signed == -(1 << 31) else abs(signed) % partitions


def end_timed_out_transactions(
    settings: KafkaSettings, now_s: Callable[[], float] = time.time
) -> Found:
    """Fence every ongoing transaction past its timeout that holds this group's offsets.
    Raises KafkaError when the broker does not answer (or refuses: no DESCRIBE on the ids)."""
    common = {**config.admin(settings), "request_timeout_ms": CALL_TIMEOUT_MS}
    admin = KafkaAdminClient(**common)
    try:
        described = admin.describe_topics([OFFSETS_TOPIC])
        count = len(described[0]["partitions"]) if described else 0
        if not count:
            return Found(0, [], None)
        mine = KTopicPartition(OFFSETS_TOPIC, offsets_partition(settings.group_id, count))
        by_broker = admin.list_transactions(state_filters=["Ongoing"])  # node id -> listings
        ids = sorted({t.transactional_id for listed in by_broker.values() for t in listed})
        states = admin.describe_transactions(ids) if ids else {}
    finally:
        admin.close()
    holding = {tid: d for tid, d in states.items() if mine in d.topic_partitions}
    fenced: list[str] = []
    soonest: float | None = None
    for tid, d in sorted(holding.items()):
        left_s = (d.transaction_start_time_ms + d.transaction_timeout_ms) / 1000 - now_s()
        if left_s + CLOCK_MARGIN_S <= 0:
            _fence(settings, tid)
            fenced.append(tid)
        else:
            soonest = min(soonest, left_s + CLOCK_MARGIN_S) if soonest else left_s + CLOCK_MARGIN_S
    if fenced:
        log.warning(
            "aborted transactions past their timeout that held this group's offsets "
            "(a member that died inside one), instead of waiting for the broker's sweep",
            transactional_ids=fenced,
        )
    return Found(len(holding), fenced, soonest)


def _fence(settings: KafkaSettings, transactional_id: str) -> None:
    """InitProducerId with `transactional_id`: its open transaction is aborted."""
    props = {**config.producer(settings, transactional_id), "max_block_ms": CALL_TIMEOUT_MS}
    producer = KafkaProducer(**props)
    try:
        producer.init_transactions()
    finally:
        producer.close(timeout=2)


class StaleTransactionWatch:
    """Runs `end_timed_out_transactions` from a thread of its own after an assignment, and
    again when the soonest transaction it found runs out (at most `MAX_ROUNDS` looks). The
    loop cannot always do it: kafka-python's consumer holds its poll until the group's
    committed offsets read back (seen: no batch at all for 15 s, even of partitions whose
    offsets were stable), so a look from the loop would come only after the broker's sweep.
    It touches no client of the pipe: it makes its own."""

    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False  # kicked while a watch ran: it looks once more

    def kick(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._again = True
                return
            self._thread = threading.Thread(
                target=self._watch, name="guard-stale-transactions", daemon=True
            )
            self._thread.start()

    def _watch(self) -> None:
        for _ in range(MAX_ROUNDS):
            try:
                found = end_timed_out_transactions(self.settings)
            except Exception as exc:  # a shortcut only: the broker's sweep ends them anyway
                log.info("could not look for timed-out transactions", error=str(exc))
                return
            with self._lock:
                again, self._again = self._again, False
                if found.next_s is None and not again:
                    self._thread = None
                    return
            time.sleep(found.next_s or 0.0)
