"""How long one step of a transaction's commit (flush, send offsets, commit, abort) may wait:
kafka-python's producer is given up when one runs out; confluent's calls get it as their
timeout (librdkafka fails them, and a failed abort makes a new producer).

A step waits on the partition leaders and on the transaction and group coordinators. When one
of them is killed, a client may keep waiting on the dead node for its whole request timeout,
step after step (kafka-python waited 15 s per step on a dead coordinator, and a producer stuck
that way never recovered by itself: a new one committed at once). So the first wait is short,
half the transaction timeout (a healthy step takes well under a second; a transaction older
than its timeout is aborted by the broker anyway). One step that runs out is what a dead node
costs: the cluster moves its leaders and coordinators only when its session ends (9 s by
default), so the next try keeps the short wait and usually lands after the move. From the
second miss in a row, each doubles the next wait up to `request_timeout_ms`: a slow machine,
rather than a dead node, gets the whole request timeout after a few tries. A commit sets it
back to short.
"""

from __future__ import annotations

from guard.config.settings import KafkaSettings

MIN_STEP_MS = 1000


def first_step_ms(settings: KafkaSettings) -> int:
    """Half the transaction timeout, at least 1 s, at most the request timeout."""
    half_tx = settings.transaction_timeout_ms // 2
    return min(settings.request_timeout_ms, max(MIN_STEP_MS, half_tx))


class StepLimit:
    def __init__(self, settings: KafkaSettings, first_s: float | None = None) -> None:
        """`first_s` overrides the first wait (`first_step_ms`), capped by the request timeout."""
        self.max_s = settings.request_timeout_ms / 1000
        self.first_s = first_step_ms(settings) / 1000 if first_s is None else first_s
        self.first_s = min(self.first_s, self.max_s)
        self.current_s = self.first_s
        self.misses = 0  # steps in a row that ran out

    def ran_out(self) -> None:
        """A step waited `current_s` in vain: from the second miss in a row, the next one
        waits twice as long (capped)."""
        self.misses += 1
        if self.misses >= 2:
            self.current_s = min(self.current_s * 2, self.max_s)

    def committed(self) -> None:
        self.current_s = self.first_s
        self.misses = 0
