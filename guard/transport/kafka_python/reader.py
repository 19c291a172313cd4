"""Read topics with read_committed up to a snapshot of their end: what downstream sees.

The end offsets are taken once, when reading starts, so records appended meanwhile (for
example by a replay writing back to the same quarantine topic) are not read in this pass.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

from kafka import TopicPartition as KTopicPartition

from guard.config.settings import KafkaSettings
from guard.errors import TransientTransportError
from guard.transport.base import InRecord, TopicSnapshot
from guard.transport.kafka_python.consumer import committed_consumer, watermark_consumer
from guard.transport.kafka_python.errors import translate
from guard.transport.kafka_python.records import in_record
from guard.transport.snapshots import SnapshotReader


class CommittedReader(SnapshotReader):
    def __init__(self, settings: KafkaSettings, fetch_bytes: int | None = None) -> None:
        self.settings = settings
        self._consumer = committed_consumer(settings, fetch_bytes)
        self._timeout_ms = settings.request_timeout_ms
        self._watermarks: Any = None  # opened on first use (settled_snapshot)

    def snapshot(self, topic: str) -> TopicSnapshot | None:
        """Current start/end offsets, or None when the topic does not exist."""
        parts = translate("metadata", lambda: self._consumer.partitions_for_topic(topic))
        if not parts:
            return None
        tps = [KTopicPartition(topic, p) for p in sorted(parts)]
        start = translate(
            "beginning offsets",
            lambda: self._consumer.beginning_offsets(tps, timeout_ms=self._timeout_ms),
        )
        # With read_committed, the end offset is the last stable offset: everything committed.
        end = translate(
            "end offsets", lambda: self._consumer.end_offsets(tps, timeout_ms=self._timeout_ms)
        )
        return TopicSnapshot(
            topic, {tp.partition: start[tp] for tp in tps}, {tp.partition: end[tp] for tp in tps}
        )

    def high_watermarks(self, topic: str) -> dict[int, int]:
        if self._watermarks is None:
            self._watermarks = watermark_consumer(self.settings)
        watermarks = self._watermarks
        parts = translate("metadata", lambda: watermarks.partitions_for_topic(topic)) or set()
        tps = [KTopicPartition(topic, p) for p in sorted(parts)]
        end = translate(
            "end offsets", lambda: watermarks.end_offsets(tps, timeout_ms=self._timeout_ms)
        )
        return {tp.partition: end[tp] for tp in tps}

    def read(
        self, snapshots: Sequence[TopicSnapshot], timeout_s: float = 300.0
    ) -> Iterator[InRecord]:
        """Every committed record up to each snapshot's end, partition by partition batches."""
        tps = [
            KTopicPartition(s.topic, p) for s in snapshots for p in s.end if s.end[p] > s.start[p]
        ]
        if not tps:
            return
        ends = {KTopicPartition(s.topic, p): s.end[p] for s in snapshots for p in s.end}
        translate("assign", lambda: self._consumer.assign(tps))
        self._consumer.resume(*tps)  # paused by an earlier read that reached its end
        starts = {KTopicPartition(s.topic, p): s.start[p] for s in snapshots for p in s.start}
        for tp in tps:
            self._consumer.seek(tp, starts[tp])
        pending = set(tps)
        deadline = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise TransientTransportError(
                    f"reading {sorted(str(t) for t in pending)} did not finish in {timeout_s}s"
                )
            batches = translate("poll", lambda: self._consumer.poll(timeout_ms=500))
            for tp, records in batches.items():
                for r in records:
                    if r.offset < ends[tp]:
                        yield in_record(r)
            for tp in list(pending):
                position = translate(
                    "position", partial(self._consumer.position, tp, timeout_ms=self._timeout_ms)
                )
                if position >= ends[tp]:
                    pending.discard(tp)
                    self._consumer.pause(tp)  # past the snapshot: ignore newer records

    def close(self) -> None:
        self._consumer.close(autocommit=False, timeout_ms=self._timeout_ms)
        if self._watermarks is not None:
            self._watermarks.close(autocommit=False, timeout_ms=self._timeout_ms)
