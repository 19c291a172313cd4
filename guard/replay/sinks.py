"""Where a replay writes: transactionally to Kafka, or to files in the quarantine directory."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import IO, Protocol

from guard.config.settings import GuardSettings
from guard.errors import InputError
from guard.quarantine.files import record_line
from guard.quarantine.sources import (
    REPLAYED_DIR,
    RUN_KEY,
    ReplayRun,
    state_topic_for,
    write_run_file,
)
from guard.replay.fit import destination, fit_quarantine, read_targets
from guard.replay.outputs import replay_output
from guard.replay.plan import Decision, Outcome
from guard.routing.router import mirror_partition
from guard.transport.base import OutRecord
from guard.transport.factory import ensure_topics, open_reader, open_tx_sink


class ReplaySink(Protocol):
    def write(self, outcomes: list[Outcome], run: ReplayRun) -> None:
        """Write one batch of PASS/FAIL outcomes atomically (all or none), and record `run`
        (the snapshot this replay reads; finished with its last batch) with it."""
        ...

    def abort(self) -> None: ...

    def fence(self) -> None:
        """Return only once no batch an earlier `write` started can still land (after a
        failed write, whose commit may have reached the broker nonetheless): what the replay
        state says from then on is final."""
        ...

    def close(self) -> None: ...


class TopicSink:
    """Outputs and replay-state markers go out in one Kafka transaction per batch.

    The transactional id is fixed per quarantine topic, so a second replay of the same topic
    fences the first: two replays can never interleave and double-publish.
    """

    def __init__(
        self,
        settings: GuardSettings,
        quarantine_topic: str,
        replay_id: str,
        at: str,
        to_source: bool,
    ) -> None:
        self.settings = settings
        self.quarantine_topic = quarantine_topic
        self.state_topic = state_topic_for(quarantine_topic)
        self.replay_id, self.at, self.to_source = replay_id, at, to_source
        ensure_topics(
            settings.kafka, {self.state_topic: 1}, {self.state_topic: {"cleanup.policy": "compact"}}
        )
        self._meta = open_reader(settings.kafka)
        self._partitions: dict[str, int | None] = {}
        # A requeued copy too large for the quarantine topic is written envelope-only; no
        # produce request may be larger than the smallest topic written to accepts (librdkafka
        # packs records into one up to batch.size, and the broker refuses it whole).
        written = {self.destination(t) for t in settings.topics} | {quarantine_topic}
        targets = read_targets(settings, written | {self.state_topic})
        self._quarantine = targets[quarantine_topic]
        tx_id = f"{settings.kafka.group_id}-replay-{quarantine_topic}"
        self._producer = open_tx_sink(settings.kafka, tx_id)
        self._producer.cap_batch_bytes(min(t.limit for t in targets.values()))

    def destination(self, source_topic: str) -> str:
        return destination(self.settings, source_topic, self.to_source)

    def _partition_count(self, topic: str) -> int | None:
        if topic not in self._partitions:
            snapshot = self._meta.snapshot(topic)
            self._partitions[topic] = len(snapshot.end) if snapshot else None
        return self._partitions[topic]

    def write(self, outcomes: list[Outcome], run: ReplayRun) -> None:
        self._producer.begin()
        # The run marker rides in every transaction: whatever commits, the state says which
        # snapshot it belongs to, and the last one says whether the run got through it.
        self._producer.send(OutRecord(self.state_topic, RUN_KEY.encode(), run.to_json(), []))
        for outcome in outcomes:
            rec = outcome.record
            assert rec is not None
            key, value, headers = outcome.output or replay_output(
                outcome,
                self.replay_id,
                self.at,
                self.settings.version_header,
                self.settings.quarantine.key_bytes(),
                self.settings.quarantine.header_style,
                self.settings.kafka.instance_id,
            )
            if outcome.decision is Decision.PASS:
                topic = self.destination(str(rec.source["topic"]))
                source_partition = rec.source.get("partition")
                partition = (
                    None
                    if source_partition is None
                    else mirror_partition(source_partition, self._partition_count(topic))
                )
                status = "replayed"
            else:
                topic, partition = self.quarantine_topic, rec.location.partition
                status = "requeued"
            ts = rec.source.get("timestamp_ms")
            if outcome.decision is not Decision.PASS:  # stamped now if the topic refuses it
                ts = self._quarantine.stamp(ts, time.time_ns() // 1_000_000)
            out = OutRecord(topic, key, value, headers, ts, partition)
            if outcome.decision is not Decision.PASS:
                out = fit_quarantine(out, self._quarantine.limit)
            self._producer.send(out)
            marker = {"status": status, "replay_id": self.replay_id, "at": self.at, "to": out.topic}
            self._producer.send(
                OutRecord(
                    self.state_topic, rec.location.key.encode(), json.dumps(marker).encode(), []
                )
            )
        self._producer.commit()

    def abort(self) -> None:
        self._producer.abort()

    def fence(self) -> None:
        # A producer abandoned mid-commit (its step ran out of time) may still have EndTxn on
        # its way; `abort` has nothing to abort then. A new producer with the same
        # transactional id completes or aborts that transaction before its init returns.
        self._producer.ready()

    def close(self) -> None:
        try:
            self._producer.close()
        finally:
            self._meta.close()


class DirectorySink:
    """Passing records to `<dir>/replayed/replay-<id>.jsonl`, failing ones to a new quarantine
    file `<dir>/requeued-<id>.jsonl`. Each line names the copy it came from, which is how a
    later replay knows it was handled; lines are flushed and synced per batch."""

    def __init__(
        self,
        directory: Path,
        replay_id: str,
        at: str,
        to_source: bool,
        version_header: str = "schema-version",
    ) -> None:
        if to_source:
            raise InputError("--to-source needs a Kafka quarantine (--config), not a directory")
        self.directory, self.replay_id, self.at = directory, replay_id, at
        self.version_header = version_header
        self.replayed_path = directory / REPLAYED_DIR / f"replay-{replay_id}.jsonl"
        self.requeued_path = directory / f"requeued-{replay_id}.jsonl"
        self._files: dict[Path, IO[str]] = {}
        self._run: ReplayRun | None = None  # the marker last written

    def _file(self, path: Path) -> IO[str]:
        if path not in self._files:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._files[path] = path.open("a", encoding="utf-8")
        return self._files[path]

    def write(self, outcomes: list[Outcome], run: ReplayRun) -> None:
        # Not transactional: the marker goes first when a run starts (a crash after it resumes
        # the same snapshot) and last when it finishes (a crash before it finishes it again).
        if run != self._run and not run.finished:
            write_run_file(self.directory, run)
            self._run = run
        for outcome in outcomes:
            key, value, headers = replay_output(
                outcome, self.replay_id, self.at, self.version_header
            )
            passed = outcome.decision is Decision.PASS
            path = self.replayed_path if passed else self.requeued_path
            self._file(path).write(record_line(key, value, headers) + "\n")
        for fh in self._files.values():
            fh.flush()
            os.fsync(fh.fileno())
        if run != self._run:
            write_run_file(self.directory, run)
            self._run = run

    def abort(self) -> None:
        """Nothing to undo: each line stands alone (a line torn by a crash fails to parse)."""

    def fence(self) -> None:
        """Nothing in flight: a write's lines are synced before it returns."""

    def close(self) -> None:
        for fh in self._files.values():
            fh.close()
        self._files.clear()
