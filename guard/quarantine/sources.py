"""Where quarantined records are read from, and which of them earlier replays handled.

Kafka: a quarantine topic, read with read_committed up to its end at the start of the pass;
the replay state is the compacted topic `<quarantine topic>.replay-state`, keyed by
`<partition>/<offset>` of the quarantined copy, written in the same transaction as the
replayed records — so a record is handled exactly when its output is committed.

Directory: the `*.jsonl` quarantine files; the state is read back from what earlier replays
wrote (`replayed/*.jsonl` and requeued files), whose lines name the copy they came from.

A replay run also records the snapshot it reads (its end per partition or per file) as a
`ReplayRun`: in the state topic under the key `replay-run`, or in `replayed/run.json`. A run
that is interrupted leaves it unfinished, and the next replay resumes it with the same end --
so the copies the interrupted run requeued (appended past that end) are not replayed again,
and an interrupted replay plus a rerun writes what one replay writes. A run that read its whole
snapshot marks it finished; the replay after that takes a fresh snapshot.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

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
from guard.transport.base import TopicSnapshot
from guard.transport.factory import open_reader, topic_id

Item = QuarantinedRecord | UnreadableRecord
REPLAYED_DIR = "replayed"
RUN_KEY = "replay-run"  # the run marker's key in the state topic (copies are "<p>/<o>")
RUN_FILE = "run.json"  # the run marker of a directory, in its replayed/ folder


@dataclass(frozen=True)
class ReplayRun:
    """One replay of a quarantine: the snapshot end it reads up to (per partition, or bytes per
    file) and whether it got through all of it."""

    replay_id: str
    end: Mapping[str, int] = field(default_factory=dict)
    finished: bool = False
    # The quarantine topic's id when the run started (None: a directory, or not known): the
    # state's offsets name copies of that topic, not of one created again under its name.
    source_id: str | None = None

    def to_json(self) -> bytes:
        body: dict[str, Any] = {
            "replay_id": self.replay_id,
            "end": dict(self.end),
            "finished": self.finished,
        }
        if self.source_id is not None:
            body["source_id"] = self.source_id
        return json.dumps(body, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes | None) -> ReplayRun | None:
        """The marker, or None when it is missing or unreadable (then a fresh run starts)."""
        try:
            body: Any = json.loads(raw or b"")
            end = {str(k): int(v) for k, v in body["end"].items()}
            source_id = body.get("source_id")
            return cls(
                str(body["replay_id"]),
                end,
                bool(body["finished"]),
                None if source_id is None else str(source_id),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def state_topic_for(quarantine_topic: str) -> str:
    return f"{quarantine_topic}.replay-state"


class QuarantineSource(Protocol):
    name: str

    def size(self) -> int: ...

    def records(self) -> Iterator[Item]: ...

    def handled(self) -> dict[str, str]:
        """Location key -> what an earlier replay did with it (`replayed` / `requeued`)."""
        ...

    def identity(self) -> str | None:
        """What tells this quarantine from another under the same name (a topic's id)."""
        ...

    def unfinished_run(self) -> ReplayRun | None:
        """The run an earlier replay started and did not finish, read from the state now."""
        ...

    def end(self) -> dict[str, int]:
        """Where reading stops: the snapshot end, per partition or per file."""
        ...

    def resume(self, run: ReplayRun) -> None:
        """Read only up to `run`'s end (never past the current one), to finish that run."""
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
        self._id = topic_id(settings, topic) if self._snapshot is not None else None

    def identity(self) -> str | None:
        return self._id

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

    def _state(self) -> dict[str, bytes | None]:
        state_topic = state_topic_for(self.name)
        reader = open_reader(self.settings)
        try:
            table = reader.latest(state_topic)
        finally:
            reader.close()
        state = {key.decode(errors="replace"): rec.value for key, rec in table.items()}
        run = ReplayRun.from_json(state.get(RUN_KEY))
        if run is not None and None not in (run.source_id, self._id) and run.source_id != self._id:
            # Its `<partition>/<offset>` keys name copies of the topic before: read against
            # this one they would pass its records off as handled (silently never replayed).
            raise InputError(
                f"{state_topic} is the replay state of an earlier {self.name} (topic id "
                f"{run.source_id}); {self.name} was created again since (topic id {self._id}), "
                f"so that state does not describe its records. Delete {state_topic} to start "
                "this quarantine's replays afresh."
            )
        return state

    def handled(self) -> dict[str, str]:
        return {key: _status(value) for key, value in self._state().items() if key != RUN_KEY}

    def unfinished_run(self) -> ReplayRun | None:
        run = ReplayRun.from_json(self._state().get(RUN_KEY))
        return run if run is not None and not run.finished else None

    def end(self) -> dict[str, int]:
        return {str(p): o for p, o in self._snapshot.end.items()} if self._snapshot else {}

    def resume(self, run: ReplayRun) -> None:
        snap = self._snapshot
        if snap is None:
            return
        # A partition the run did not know was added after its snapshot: nothing of it is read.
        end = {
            p: max(snap.start[p], min(o, run.end.get(str(p), snap.start[p])))
            for p, o in snap.end.items()
        }
        self._snapshot = TopicSnapshot(snap.topic, snap.start, end)


def _status(marker: bytes | None) -> str:
    """What a copy's state marker says was done with it. Only a replay writes a copy's key,
    in the transaction of its output: a marker damaged since still means handled."""
    try:
        status = json.loads(marker or b"{}").get("status", "replayed")
    except (ValueError, AttributeError, RecursionError):
        return "replayed"
    return status if isinstance(status, str) else "replayed"


class DirectorySource:
    def __init__(self, directory: Path) -> None:
        if not directory.is_dir():
            raise InputError(f"{directory}: no such quarantine directory")
        self.directory = directory
        self.name = str(directory)
        # Fixed at the start, like a topic snapshot: files, and bytes of each, written from now
        # on (requeue files, lines appended by a running `guard validate`) are not read.
        self._ends = {p.name: p.stat().st_size for p in sorted(directory.glob("*.jsonl"))}

    def _lines(self) -> Iterator[tuple[str, int, bytes]]:
        """(file name, line number, line) for every line inside the snapshot."""
        for name, end in self._ends.items():
            with (self.directory / name).open("rb") as fh:
                read = 0
                for number, raw in enumerate(fh, start=1):
                    if read >= end:
                        break
                    read += len(raw)
                    yield name, number, raw

    def size(self) -> int:
        return sum(1 for _, _, raw in self._lines() if raw.strip())

    def records(self) -> Iterator[Item]:
        for name, number, raw in self._lines():
            if not raw.strip():
                continue
            try:
                yield from_file_line(name, number, raw.decode("utf-8", errors="replace"))
            except UnreadableRecord as exc:
                yield exc

    def identity(self) -> str | None:
        return None

    def unfinished_run(self) -> ReplayRun | None:
        try:
            raw = (self.directory / REPLAYED_DIR / RUN_FILE).read_bytes()
        except FileNotFoundError:
            return None
        run = ReplayRun.from_json(raw)
        return run if run is not None and not run.finished else None

    def end(self) -> dict[str, int]:
        return dict(self._ends)

    def resume(self, run: ReplayRun) -> None:
        self._ends = {
            name: min(size, run.end[name]) for name, size in self._ends.items() if name in run.end
        }

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


def write_run_file(directory: Path, run: ReplayRun) -> None:
    """Replace a directory's run marker atomically and durably (a crash leaves old or new)."""
    folder = directory / REPLAYED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{RUN_FILE}.tmp"
    with tmp.open("wb") as fh:
        fh.write(run.to_json())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / RUN_FILE)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
