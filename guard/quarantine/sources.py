"""Where quarantined records are read from, and which of them earlier replays handled.

Kafka: a quarantine topic, read with read_committed up to its end at the start of the pass;
the replay state is the compacted topic `<quarantine topic>.replay-state`, keyed by
`<partition>/<offset>` of the quarantined copy, written in the same transaction as the
replayed records — so a record is handled exactly when its output is committed.

Directory: the `*.jsonl` quarantine files; the state is read back from what earlier replays
wrote (`replayed/*.jsonl` and requeued files), whose lines name the copy they came from.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from guard.config.settings import KafkaSettings
from guard.errors import InputError
from guard.quarantine.records import (
    H_REPLAY_FILE,
    H_REPLAY_LINE,
    QuarantinedRecord,
    UnreadableRecord,
    from_file_line,
    from_kafka,
)
from guard.transport.factory import open_reader

Item = QuarantinedRecord | UnreadableRecord
REPLAYED_DIR = "replayed"


def state_topic_for(quarantine_topic: str) -> str:
    return f"{quarantine_topic}.replay-state"


class QuarantineSource(Protocol):
    name: str

    def size(self) -> int: ...

    def records(self) -> Iterator[Item]: ...

    def handled(self) -> dict[str, str]:
        """Location key -> what an earlier replay did with it (`replayed` / `requeued`)."""
        ...


class TopicSource:
    def __init__(self, settings: KafkaSettings, topic: str) -> None:
        self.settings = settings
        self.name = topic
        reader = open_reader(settings)
        try:
            self._snapshot = reader.snapshot(topic)
        finally:
            reader.close()

    @property
    def exists(self) -> bool:
        return self._snapshot is not None

    def size(self) -> int:
        return self._snapshot.size if self._snapshot else 0

    def records(self) -> Iterator[Item]:
        if self._snapshot is None:
            return
        reader = open_reader(self.settings)
        try:
            for rec in reader.read([self._snapshot]):
                try:
                    yield from_kafka(rec)
                except UnreadableRecord as exc:
                    yield exc
        finally:
            reader.close()

    def handled(self) -> dict[str, str]:
        reader = open_reader(self.settings)
        try:
            table = reader.latest(state_topic_for(self.name))
        finally:
            reader.close()
        return {
            key.decode(): json.loads(rec.value or b"{}").get("status", "replayed")
            for key, rec in table.items()
        }


class DirectorySource:
    def __init__(self, directory: Path) -> None:
        if not directory.is_dir():
            raise InputError(f"{directory}: no such quarantine directory")
        self.directory = directory
        self.name = str(directory)
        # Fixed at the start, like a topic snapshot: requeue files written now are not read.
        self._files = sorted(directory.glob("*.jsonl"))

    def size(self) -> int:
        total = 0
        for path in self._files:
            with path.open("rb") as fh:
                total += sum(1 for line in fh if line.strip())
        return total

    def records(self) -> Iterator[Item]:
        for path in self._files:
            with path.open(encoding="utf-8", errors="replace") as fh:
                for number, text in enumerate(fh, start=1):
                    if not text.strip():
                        continue
                    try:
                        yield from_file_line(path.name, number, text)
                    except UnreadableRecord as exc:
                        yield exc

    def handled(self) -> dict[str, str]:
        state: dict[str, str] = {}
        replayed = sorted((self.directory / REPLAYED_DIR).glob("*.jsonl"))
        for path in [*replayed, *self.directory.glob("*.jsonl")]:
            status = "replayed" if path.parent.name == REPLAYED_DIR else "requeued"
            with path.open(encoding="utf-8", errors="replace") as fh:
                for text in fh:
                    try:
                        headers = json.loads(text)["headers"]
                        key = f"{headers[H_REPLAY_FILE]}:{headers[H_REPLAY_LINE]}"
                    except (ValueError, KeyError, TypeError):
                        continue  # an ordinary quarantine line, or a torn last line
                    state[key] = status
        return state
