"""Read topics with read_committed up to a snapshot of their end, over confluent-kafka.

Same semantics as `guard.transport.kafka_python.reader`: the end offsets are taken once,
when reading starts, so records appended meanwhile are not read in this pass.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from functools import partial

from confluent_kafka import Consumer, KafkaError
from confluent_kafka import TopicPartition as CTopicPartition

from guard.config.settings import KafkaSettings
from guard.errors import TransientTransportError
from guard.transport.base import InRecord, TopicPartition, TopicSnapshot
from guard.transport.confluent import admin
from guard.transport.confluent.consumer import committed_consumer, watermark_consumer
from guard.transport.confluent.errors import classify_error, translate
from guard.transport.confluent.records import in_record
from guard.transport.snapshots import SnapshotReader


class ConfluentReader(SnapshotReader):
    def __init__(self, settings: KafkaSettings, fetch_bytes: int | None = None) -> None:
        self.settings = settings
        self._timeout_s = settings.request_timeout_ms / 1000
        # End-of-partition events tell when a partition whose last offsets are transaction
        # markers or aborted records (never delivered) has been read to its end.
        self._consumer = committed_consumer(settings, fetch_bytes, partition_eof=True)
        self._watermarks: Consumer | None = None  # opened on first use (settled_snapshot)

    def snapshot(self, topic: str) -> TopicSnapshot | None:
        """Current start/end offsets, or None when the topic does not exist."""
        n = admin.partition_count(self._consumer, topic, self._timeout_s)
        if n is None:
            return None
        # With read_committed, the high mark is the last stable offset: all committed.
        marks = self._marks(self._consumer, topic, n)
        return TopicSnapshot(
            topic, {p: low for p, (low, _) in marks.items()}, {p: h for p, (_, h) in marks.items()}
        )

    def high_watermarks(self, topic: str) -> dict[int, int]:
        if self._watermarks is None:
            self._watermarks = watermark_consumer(self.settings)
        n = admin.partition_count(self._watermarks, topic, self._timeout_s) or 0
        return {p: high for p, (_, high) in self._marks(self._watermarks, topic, n).items()}

    def _marks(self, consumer: Consumer, topic: str, n: int) -> dict[int, tuple[int, int]]:
        marks: dict[int, tuple[int, int]] = {}
        for p in range(n):
            got = translate(
                "watermark offsets",
                partial(
                    consumer.get_watermark_offsets,
                    CTopicPartition(topic, p),
                    timeout=self._timeout_s,
                    cached=False,
                ),
            )
            if got is None:
                raise TransientTransportError(f"no offsets for {topic}[{p}] in time")
            marks[p] = got
        return marks

    def read(
        self, snapshots: Sequence[TopicSnapshot], timeout_s: float = 300.0
    ) -> Iterator[InRecord]:
        """Every committed record up to each snapshot's end, partition by partition batches."""
        ends = {(s.topic, p): s.end[p] for s in snapshots for p in s.end}
        starts = {(s.topic, p): s.start[p] for s in snapshots for p in s.start}
        pending = {tp for tp in ends if ends[tp] > starts[tp]}
        if not pending:
            return
        translate(
            "assign",
            lambda: self._consumer.assign(
                [CTopicPartition(t, p, starts[(t, p)]) for t, p in sorted(pending)]
            ),
        )
        # Paused by an earlier read that reached its end: assigning again does not resume.
        resumed = [CTopicPartition(t, p) for t, p in sorted(pending)]
        translate("resume", partial(self._consumer.resume, resumed))
        deadline = time.monotonic() + timeout_s
        batch = self.settings.max_poll_records
        while pending:
            if time.monotonic() > deadline:
                raise TransientTransportError(
                    f"reading {sorted(pending)} did not finish in {timeout_s}s"
                )
            done: set[TopicPartition] = set()
            for msg in translate("poll", lambda: self._consumer.consume(batch, 0.5)):
                topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
                assert topic is not None and partition is not None and offset is not None
                tp = (topic, partition)
                err = msg.error()
                if err is not None and err.code() != KafkaError._PARTITION_EOF:
                    raise classify_error("poll", err)
                if tp not in pending:
                    continue
                if err is None and offset < ends[tp]:
                    yield in_record(msg)
                # The next offset to read: past the last record, or where the end was found.
                if (offset + 1 if err is None else offset) >= ends[tp]:
                    done.add(tp)
            if done:
                pending -= done
                # Past the snapshot: ignore newer records.
                paused = [CTopicPartition(t, p) for t, p in done]
                translate("pause", partial(self._consumer.pause, paused))

    def close(self) -> None:
        self._consumer.close()
        if self._watermarks is not None:
            self._watermarks.close()
