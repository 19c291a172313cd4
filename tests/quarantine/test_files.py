"""File-mode quarantine: one JSON envelope line per record."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from guard.quarantine.envelope import Envelope, Source
from guard.quarantine.files import QuarantineFileWriter, envelope_line
from guard.validation import FieldError, Reason

ENVELOPE = Envelope(
    Source(file="in.jsonl", line=4),
    "orders",
    (2,),
    (FieldError("amount", Reason.WRONG_TYPE, "Input should be a valid number", 2),),
    1,
    "2026-11-03T10:15:00.000Z",
)


def test_envelope_line_keeps_exact_bytes_as_base64() -> None:
    value = b'{"amount": "12.50"}\xff\x00 trailing '
    line = json.loads(envelope_line(b"key\x01", value, ENVELOPE))
    assert base64.b64decode(line["value_b64"]) == value
    assert base64.b64decode(line["key_b64"]) == b"key\x01"


def test_envelope_line_holds_exactly_the_guard_headers() -> None:
    line = json.loads(envelope_line(None, b"x", ENVELOPE))
    assert line["headers"] == {k: v.decode() for k, v in ENVELOPE.headers()}
    assert line["headers"]["guard.source.line"] == "4"


def test_envelope_line_writes_null_for_missing_key_and_value() -> None:
    line = json.loads(envelope_line(None, None, ENVELOPE))
    assert (line["key_b64"], line["value_b64"]) == (None, None)


def test_envelope_line_is_a_single_line() -> None:
    assert "\n" not in envelope_line(None, b"a\nb", ENVELOPE)


def test_writer_creates_nothing_until_the_first_write(tmp_path: Path) -> None:
    target = tmp_path / "q"
    with QuarantineFileWriter(target, "orders") as writer:
        assert writer.count == 0
    assert not target.exists()


def test_writer_names_the_file_after_subject_and_utc_time_uniquely(tmp_path: Path) -> None:
    writer = QuarantineFileWriter(tmp_path, "orders")
    assert writer.path.parent == tmp_path
    assert re.fullmatch(r"orders-\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{8}\.jsonl", writer.path.name)
    assert QuarantineFileWriter(tmp_path, "orders").path != writer.path


def test_writer_creates_missing_directories_and_writes_one_line_per_record(
    tmp_path: Path,
) -> None:
    target = tmp_path / "deep" / "q"
    with QuarantineFileWriter(target, "orders") as writer:
        writer.write(None, b"one", ENVELOPE)
        writer.write(b"k", b"two", ENVELOPE)
    assert writer.count == 2
    lines = writer.path.read_text(encoding="utf-8").splitlines()
    assert [base64.b64decode(json.loads(x)["value_b64"]) for x in lines] == [b"one", b"two"]


def test_writer_appends_to_an_existing_file(tmp_path: Path) -> None:
    writer = QuarantineFileWriter(tmp_path, "orders")
    writer.path.write_text('{"earlier": true}\n', encoding="utf-8")
    with writer:
        writer.write(None, b"two", ENVELOPE)
    lines = writer.path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == '{"earlier": true}'
    assert base64.b64decode(json.loads(lines[1])["value_b64"]) == b"two"


def test_close_is_idempotent(tmp_path: Path) -> None:
    writer = QuarantineFileWriter(tmp_path, "orders")
    writer.write(None, b"x", ENVELOPE)
    writer.close()
    writer.close()
    assert writer.path.read_text(encoding="utf-8").count("\n") == 1


def test_writer_reports_a_file_it_cannot_write_as_an_input_error(tmp_path: Path) -> None:
    import pytest

    from guard.errors import InputError

    (tmp_path / "blocker").write_text("")
    writer = QuarantineFileWriter(tmp_path / "blocker" / "q", "orders")
    with pytest.raises(InputError, match="cannot write the quarantine file"):
        writer.write(None, b"x", ENVELOPE)
    assert writer.count == 0
