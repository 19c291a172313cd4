"""Read records from JSON Lines or JSON files (or stdin) as raw bytes, with their line.

JSON Lines (`.jsonl`, `.ndjson`, stdin, anything not `.json`): one record per non-blank line,
streamed, so memory stays flat for any file size. A blank line (empty, or only JSON whitespace:
space, tab, CR) is no record; it is reported to `on_blank` so callers can count it. Any other
line, whitespace-looking or not, is a record and gets a verdict.

A UTF-8 byte order mark at the start of a file (or stdin) is the file's, not the first
record's: it is skipped.

A `.json` file holding an array yields one record per element, each the element's exact
original text (`line` is the element index), so the validator sees what the producer wrote;
any other `.json` content is one record, so a broken file gets a quarantine verdict instead
of a crash.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from guard.errors import InputError


@dataclass(frozen=True, slots=True)
class FileRecord:
    file: str
    line: int
    value: bytes


BlankHandler = Callable[[FileRecord], None]


def read_records(paths: list[str], on_blank: BlankHandler | None = None) -> Iterator[FileRecord]:
    for name in paths:
        if name == "-":
            stdin = sys.stdin.buffer
            if isinstance(stdin, io.BufferedReader):  # peek: nothing is consumed
                _refuse_compressed("<stdin>", stdin.peek(2)[:2])
            yield from _lines("<stdin>", stdin, on_blank)
            continue
        path = Path(name)
        # Not only regular files: a named pipe or a process substitution (`<(zcat x.gz)`,
        # /dev/fd/N) is read the same way, once, from one open.
        if not path.exists() or path.is_dir():
            raise InputError(f"{name}: no such file" + (" (a directory)" if path.is_dir() else ""))
        try:
            with path.open("rb") as fh:
                _refuse_compressed(name, fh.peek(2)[:2])  # peek: a pipe cannot be reread
                if path.suffix.lower() == ".json":
                    yield from _json_document(name, fh.read())
                else:
                    yield from _lines(name, fh, on_blank)
        except OSError as exc:
            raise InputError(f"{name}: cannot read: {exc.strerror}") from exc


_GZIP_MAGIC = b"\x1f\x8b"
# A UTF-8 byte order mark opening a file (as Windows tools write) marks the file's encoding;
# it belongs to no record. RFC 8259 lets a parser ignore it; the file reader does.
_BOM = b"\xef\xbb\xbf"


def _refuse_compressed(name: str, start: bytes) -> None:
    """A gzip file is not JSON: its lines would be judged as records (not_utf8, exit 1), as
    if the data were bad. Input error instead, saying how to feed it."""
    if start == _GZIP_MAGIC:
        source = "FILE" if name == "<stdin>" else name
        raise InputError(
            f"{name}: gzip-compressed; decompress it first (zcat {source} | guard validate ... -)"
        )


def _lines(
    name: str, fh: Iterable[bytes], on_blank: BlankHandler | None = None
) -> Iterator[FileRecord]:
    for number, raw in enumerate(fh, start=1):
        line = raw.rstrip(b"\r\n")
        if number == 1:
            line = line.removeprefix(_BOM)
        if line.strip(b" \t\r"):
            yield FileRecord(name, number, line)
        elif on_blank is not None:
            on_blank(FileRecord(name, number, line))


# Finds element boundaries only: every value is parsed into a cheap placeholder, so huge
# integers, NaN or duplicate keys do not fail here; the real checks run on each element.
_SPAN_DECODER = json.JSONDecoder(
    parse_int=lambda _: 0,
    parse_float=lambda _: 0.0,
    parse_constant=lambda _: 0.0,
    object_pairs_hook=lambda _: None,
)
_WS = re.compile(r"[ \t\n\r]*")


def _json_document(name: str, data: bytes) -> Iterator[FileRecord]:
    data = data.removeprefix(_BOM)
    spans = _array_spans(data)
    if spans is None:
        yield FileRecord(name, 1, data)
        return
    text = data.decode("utf-8")
    for index, (start, end) in enumerate(spans):
        yield FileRecord(name, index, text[start:end].encode("utf-8"))


def _array_spans(data: bytes) -> list[tuple[int, int]] | None:
    """(start, end) of each top-level array element in the text, or None if not an array."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    if not text.startswith("[", pos):
        return None
    spans: list[tuple[int, int]] = []
    pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text.startswith("]", pos):
        return spans if not text[pos + 1 :].strip() else None
    while True:
        try:
            _, end = _SPAN_DECODER.raw_decode(text, pos)
        except (ValueError, RecursionError):
            return None
        spans.append((pos, end))
        pos = _WS.match(text, end).end()  # type: ignore[union-attr]
        if text.startswith(",", pos):
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
        elif text.startswith("]", pos):
            return spans if not text[pos + 1 :].strip() else None
        else:
            return None
