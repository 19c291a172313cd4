"""Reading records from JSON Lines / JSON files and stdin, as raw bytes with their line."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from guard.errors import InputError
from guard.filemode.reader import FileRecord, read_records


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def _file(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_jsonl_yields_one_record_per_line_with_its_number(tmp_path: Path) -> None:
    name = _file(tmp_path, "a.jsonl", b'{"a": 1}\n{"a": 2}\n')
    assert list(read_records([name])) == [
        FileRecord(name, 1, b'{"a": 1}'),
        FileRecord(name, 2, b'{"a": 2}'),
    ]


def test_blank_and_whitespace_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    name = _file(tmp_path, "a.jsonl", b'\n{"a": 1}\n   \n\t\r\n{"a": 2}')
    assert [(r.line, r.value) for r in read_records([name])] == [
        (2, b'{"a": 1}'),
        (5, b'{"a": 2}'),
    ]


def test_crlf_line_endings_are_removed_and_other_bytes_kept(tmp_path: Path) -> None:
    name = _file(tmp_path, "a.jsonl", b' {"a": 1} \r\n\xff\xfe\r\n')
    assert [r.value for r in read_records([name])] == [b' {"a": 1} ', b"\xff\xfe"]


def test_any_non_json_suffix_is_read_as_lines(tmp_path: Path) -> None:
    name = _file(tmp_path, "a.txt", b"[1, 2]\n[3]\n")
    assert [r.value for r in read_records([name])] == [b"[1, 2]", b"[3]"]


def test_json_array_yields_one_record_per_element_with_its_index(tmp_path: Path) -> None:
    name = _file(tmp_path, "a.json", b'[{"a": 1}, {"a": "\xc3\xa9"}, 3]')
    records = list(read_records([name]))
    assert [r.line for r in records] == [0, 1, 2]
    assert [json.loads(r.value) for r in records] == [{"a": 1}, {"a": "é"}, 3]


def test_json_suffix_is_case_insensitive(tmp_path: Path) -> None:
    name = _file(tmp_path, "A.JSON", b"[1, 2]")
    assert len(list(read_records([name]))) == 2


def test_json_object_file_is_one_record_with_the_original_bytes(tmp_path: Path) -> None:
    data = b'{\n  "a": 1\n}\n'
    name = _file(tmp_path, "a.json", data)
    assert list(read_records([name])) == [FileRecord(name, 1, data)]


def test_broken_json_file_is_one_record_with_the_original_bytes(tmp_path: Path) -> None:
    data = b'[{"a": 1}, {"a": '
    name = _file(tmp_path, "a.json", data)
    assert list(read_records([name])) == [FileRecord(name, 1, data)]


def test_too_deep_json_file_is_one_record(tmp_path: Path) -> None:
    data = b"[" * 10_000 + b"]" * 10_000
    name = _file(tmp_path, "a.json", data)
    assert list(read_records([name])) == [FileRecord(name, 1, data)]


def test_empty_json_array_yields_nothing(tmp_path: Path) -> None:
    assert list(read_records([_file(tmp_path, "a.json", b"[]")])) == []


def test_empty_jsonl_file_yields_nothing(tmp_path: Path) -> None:
    assert list(read_records([_file(tmp_path, "a.jsonl", b"")])) == []


def test_json_array_with_a_lone_surrogate_escape_does_not_crash(tmp_path: Path) -> None:
    name = _file(tmp_path, "a.json", b'[{"a": "\\ud800"}, {"a": 1}]')
    assert len(list(read_records([name]))) >= 1


def test_stdin_dash_reads_lines_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(b'{"a": 1}\n\n{"a": 2}\n'))
    assert list(read_records(["-"])) == [
        FileRecord("<stdin>", 1, b'{"a": 1}'),
        FileRecord("<stdin>", 3, b'{"a": 2}'),
    ]


def test_several_inputs_are_read_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(b"s\n"))
    first = _file(tmp_path, "a.jsonl", b"a\n")
    second = _file(tmp_path, "b.json", b"[1]")
    assert [(r.file, r.value) for r in read_records([first, "-", second])] == [
        (first, b"a"),
        ("<stdin>", b"s"),
        (second, b"1"),
    ]


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        list(read_records([str(tmp_path / "missing.jsonl")]))


def test_directory_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        list(read_records([str(tmp_path)]))


def test_missing_file_is_reported_only_when_reached(tmp_path: Path) -> None:
    good = _file(tmp_path, "a.jsonl", b"x\n")
    records = read_records([good, str(tmp_path / "missing.jsonl")])
    assert next(records).value == b"x"
    with pytest.raises(InputError):
        next(records)


def test_gzip_file_is_an_input_error_not_records(tmp_path: Path) -> None:
    import gzip

    name = _file(tmp_path, "export.jsonl.gz", gzip.compress(b'{"a": 1}\n' * 100))
    with pytest.raises(InputError, match=r"export\.jsonl\.gz: gzip-compressed; decompress it"):
        list(read_records([name]))


def test_gzip_on_stdin_is_an_input_error_not_records(monkeypatch: pytest.MonkeyPatch) -> None:
    import gzip

    class _Buffered:
        buffer = io.BufferedReader(io.BytesIO(gzip.compress(b'{"a": 1}\n')))  # type: ignore[arg-type]

    monkeypatch.setattr(sys, "stdin", _Buffered())
    with pytest.raises(InputError, match="<stdin>: gzip-compressed"):
        list(read_records(["-"]))


def test_stdin_peeked_for_gzip_still_yields_every_byte(monkeypatch: pytest.MonkeyPatch) -> None:
    class _Buffered:
        buffer = io.BufferedReader(io.BytesIO(b'{"a": 1}\n{"a": 2}\n'))  # type: ignore[arg-type]

    monkeypatch.setattr(sys, "stdin", _Buffered())
    assert [r.value for r in read_records(["-"])] == [b'{"a": 1}', b'{"a": 2}']


def test_utf8_bom_opening_a_jsonl_file_is_not_part_of_its_first_record(tmp_path: Path) -> None:
    name = _file(tmp_path, "win.jsonl", b'\xef\xbb\xbf{"a": 1}\r\n\xef\xbb\xbf{"a": 2}\r\n')
    # only the file's opening mark is skipped; one inside the file stays a record's bytes
    assert [r.value for r in read_records([name])] == [b'{"a": 1}', b'\xef\xbb\xbf{"a": 2}']


def test_utf8_bom_opening_a_json_file_is_not_part_of_its_records(tmp_path: Path) -> None:
    array = _file(tmp_path, "a.json", b'\xef\xbb\xbf[{"a": 1}, {"a": 2}]')
    single = _file(tmp_path, "b.json", b'\xef\xbb\xbf{"a": 3}')
    assert [r.value for r in read_records([array, single])] == [
        b'{"a": 1}',
        b'{"a": 2}',
        b'{"a": 3}',
    ]


def test_named_pipe_is_read_like_a_file(tmp_path: Path) -> None:
    import os
    import threading

    fifo = tmp_path / "export.jsonl"
    os.mkfifo(fifo)

    def produce() -> None:
        with fifo.open("wb") as fh:  # as `<(zcat export.jsonl.gz)` or a named pipe
            fh.write(b'{"a": 1}\n{"a": 2}\n')

    writer = threading.Thread(target=produce, daemon=True)
    writer.start()
    assert [r.value for r in read_records([str(fifo)])] == [b'{"a": 1}', b'{"a": 2}']
    writer.join(timeout=10)
