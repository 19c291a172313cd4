"""Read records from JSON Lines or JSON files (or stdin) as raw bytes, with their line.

JSON Lines (`.jsonl`, `.ndjson`, stdin, anything not `.json`): one record per non-blank line,
streamed, so memory stays flat for any file size. A `.json` file holding an array yields one
record per element (re-encoded; `line` is then the element index); any other `.json` content
is one record, so a broken file gets a quarantine verdict instead of a crash.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from guard.errors import InputError


@dataclass(frozen=True, slots=True)
class FileRecord:
    file: str
    line: int
    value: bytes


def read_records(paths: list[str]) -> Iterator[FileRecord]:
    for name in paths:
        if name == "-":
            yield from _lines("<stdin>", sys.stdin.buffer)
            continue
        path = Path(name)
        if not path.is_file():
            raise InputError(f"{name}: no such file")
        try:
            if path.suffix.lower() == ".json":
                yield from _json_document(name, path.read_bytes())
            else:
                with path.open("rb") as fh:
                    yield from _lines(name, fh)
        except OSError as exc:
            raise InputError(f"{name}: cannot read: {exc.strerror}") from exc


def _lines(name: str, fh: Iterable[bytes]) -> Iterator[FileRecord]:
    for number, raw in enumerate(fh, start=1):
        line = raw.rstrip(b"\r\n")
        if line.strip():
            yield FileRecord(name, number, line)


def _json_document(name: str, data: bytes) -> Iterator[FileRecord]:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        doc = None
    if isinstance(doc, list):
        for index, item in enumerate(doc):
            yield FileRecord(name, index, json.dumps(item, ensure_ascii=False).encode())
    else:
        yield FileRecord(name, 1, data)
