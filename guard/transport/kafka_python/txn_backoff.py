"""kafka-python's sender waits the wrong backoff before a retried transactional request.

When a transaction starts right after the previous one committed, the coordinator is often
still writing that commit's markers and refuses AddPartitionsToTxn with
CONCURRENT_TRANSACTIONS. The transaction manager then lowers that request's own backoff to
20 ms (KAFKA-5477: with 100 ms, back-to-back transactions take 100 ms at least), but the
sender of kafka-python 3.0 sleeps its configured `retry_backoff_ms` (100 ms) before every
retried transactional request, ignoring the request's own. On a 3-node cluster a
50-record transaction's flush took a median 220 ms this way (librdkafka: 51 ms), one or two
100 ms sleeps each (`benchmarks/transactions.py`).

`install` makes the sender wait the request's own backoff, as the Java client's sender does
(`time.sleep(nextRequestHandler.retryBackoffMs())`): a retried request leaves the queue with
its wait done and its retry mark cleared, so the sender does not sleep again. Installed only
while the sender still has the line it works around, on the versions read (3.0.x).
"""

from __future__ import annotations

import time
from typing import Any

import kafka.producer.sender
from kafka.producer.transaction_manager import TransactionManager

from guard.transport.kafka_python.versions import still_has

# What the sender does before a retried transactional request, in the versions read.
_SENDER_SLEEP = "time.sleep(self.config['retry_backoff_ms'] / 1000)"


def _sleep(seconds: float) -> None:  # one place for tests to watch the wait
    time.sleep(seconds)


def install() -> bool:
    """Install once; False when this kafka-python is not the one this was written against."""
    original = TransactionManager.next_request_handler
    if getattr(original, "_guard_backoff", False):
        return True
    if not still_has(kafka.producer.sender, _SENDER_SLEEP):
        return False

    def next_request_handler(self: Any, has_incomplete_batches: bool) -> Any:
        handler = original(self, has_incomplete_batches)
        if handler is not None and handler.is_retry:
            handler._is_retry = False  # waited here; the sender must not wait again
            _sleep(handler.retry_backoff_ms / 1000)
        return handler

    next_request_handler._guard_backoff = True  # type: ignore[attr-defined]
    TransactionManager.next_request_handler = next_request_handler
    return True
