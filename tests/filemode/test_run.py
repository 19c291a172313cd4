"""validate_files: the Kafka validator and envelope applied to files."""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from guard.contracts import Registry, load_registry
from guard.errors import ConfigError, ContractError, InputError
from guard.filemode import FileSummary, validate_files
from guard.validation import Limits
from tests.fixtures.paths import REPO

REPO_SCHEMAS = REPO / "schemas"

ORDER: dict[str, Any] = {
    "order_id": "123e4567-e89b-42d3-a456-426614174000",
    "customer_email": "a@example.com",
    "amount": 12.5,
    "currency": "EUR",
    "quantity": 2,
    "created_at": "2026-11-03T10:15:00Z",
}
GOOD = json.dumps(ORDER).encode()


def _bad(**changes: Any) -> bytes:
    return json.dumps({**ORDER, **changes}).encode()


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(REPO_SCHEMAS)


def _run(registry: Registry, tmp_path: Path, *paths: str, **kw: Any) -> FileSummary:
    return validate_files(registry, "orders", list(paths), tmp_path / "quarantine", **kw)


def _lines(summary: FileSummary) -> list[dict[str, Any]]:
    assert summary.quarantine_file is not None
    text = Path(summary.quarantine_file).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def _write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


BAD_LINES: list[tuple[bytes, str]] = [
    (b"order_id=42&amount=3", "not_json"),
    (b'{"order_id": "\xff\xfe"}', "not_utf8"),
    (_bad(note="x" * (10 * 1024 * 1024)), "too_large"),
    (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "too_deep"),
    (b"[" * 10_000 + b"]" * 10_000, "too_deep"),
    (GOOD[:-1] + b', "score": NaN}', "not_finite"),
    (GOOD[:-1] + b', "score": Infinity}', "not_finite"),
    (GOOD[:-1] + b', "score": -Infinity}', "not_finite"),
    (GOOD.replace(b"12.5", b"1e400"), "out_of_range"),
    (GOOD[:-1] + b', "amount": 1}', "duplicate_key"),
    (
        GOOD[:-1] + b', "shipping": {"country": "DE", "country": "FR", "postcode": "1"}}',
        "duplicate_key",
    ),
    (_bad(quantity=2**70), "out_of_range"),
    (GOOD.replace(b'"quantity": 2', b'"quantity": ' + b"8" * 5000), "out_of_range"),
    (_bad(amount="12.50"), "wrong_type"),
    (_bad(quantity=True), "wrong_type"),
    (_bad(quantity=1.0), "wrong_type"),
    (json.dumps({k: v for k, v in ORDER.items() if k != "currency"}).encode(), "missing_field"),
    (_bad(quantity=None), "null_not_allowed"),
    (b"[1, 2, 3]", "not_object"),
    (b'"just a string"', "not_object"),
    (_bad(currency="JPY"), "not_in_enum"),
    (_bad(coupon="save 10%!"), "pattern_mismatch"),
    (_bad(items=[{"sku": "", "qty": 1}]), "bad_length"),
    (_bad(order_id="nope"), "bad_format"),
    (_bad(customer_email="nope"), "bad_format"),
    (_bad(created_at="nope"), "bad_format"),
]


def test_each_bad_line_is_quarantined_with_its_reason_and_the_next_line_passes(
    registry: Registry, tmp_path: Path
) -> None:
    data = b"".join(bad + b"\n" + GOOD + b"\n" for bad, _ in BAD_LINES)
    name = _write(tmp_path, "in.jsonl", data)
    summary = _run(registry, tmp_path, name)
    assert (summary.total, summary.valid, summary.quarantined) == (
        2 * len(BAD_LINES),
        len(BAD_LINES),
        len(BAD_LINES),
    )
    lines = _lines(summary)
    assert [line["headers"]["guard.reasons"].split(",")[0] for line in lines] == [
        reason for _, reason in BAD_LINES
    ]
    assert [int(line["headers"]["guard.source.line"]) for line in lines] == list(
        range(1, 2 * len(BAD_LINES), 2)
    )


def test_quarantine_lines_keep_the_exact_original_bytes(registry: Registry, tmp_path: Path) -> None:
    bad = [b'{"order_id": "\xff\xfe"}', b' {"a": 1} ', b"x" * 10]
    name = _write(tmp_path, "in.jsonl", b"\r\n".join(bad) + b"\r\n")
    lines = _lines(_run(registry, tmp_path, name))
    assert [base64.b64decode(line["value_b64"]) for line in lines] == bad
    assert all(line["key_b64"] is None for line in lines)


def test_quarantine_lines_carry_the_file_envelope(registry: Registry, tmp_path: Path) -> None:
    name = _write(tmp_path, "in.jsonl", GOOD + b"\n" + _bad(currency="JPY") + b"\n")
    (line,) = _lines(_run(registry, tmp_path, name))
    headers = line["headers"]
    assert headers["guard.source.file"] == name
    assert headers["guard.source.line"] == "2"
    assert headers["guard.subject"] == "orders"
    assert headers["guard.versions.tried"] == "2"
    assert headers["guard.attempt"] == "1"
    assert json.loads(headers["guard.errors"]) == [
        {
            "field": "currency",
            "code": "not_in_enum",
            "message": "value is not one of: 'EUR', 'USD', 'GBP', 'CHF'",
            "version": 2,
        }
    ]
    assert "guard.source.topic" not in headers


def test_blank_lines_are_no_records_but_are_counted(registry: Registry, tmp_path: Path) -> None:
    """Issue 8 item 11: never silently dropped."""
    name = _write(tmp_path, "in.jsonl", b"\n\n" + GOOD + b"\n   \n\t\r\n" + GOOD + b"\n\n")
    summary = _run(registry, tmp_path, name)
    assert (summary.total, summary.valid, summary.quarantined) == (2, 2, 0)
    assert summary.blank_lines == 5 and summary.to_json()["blank_lines"] == 5


def test_a_line_of_non_json_whitespace_gets_a_verdict(registry: Registry, tmp_path: Path) -> None:
    summary = _run(registry, tmp_path, _write(tmp_path, "in.jsonl", b"\x0b\x0c\n" + GOOD))
    assert (summary.total, summary.quarantined, summary.blank_lines) == (2, 1, 0)
    assert summary.by_reason == {"not_json": 1}


def test_all_valid_writes_no_quarantine_file(registry: Registry, tmp_path: Path) -> None:
    summary = _run(registry, tmp_path, _write(tmp_path, "in.jsonl", GOOD + b"\n"))
    assert summary.quarantine_file is None
    assert not (tmp_path / "quarantine").exists()


def test_json_array_is_validated_element_by_element(registry: Registry, tmp_path: Path) -> None:
    doc = json.dumps([ORDER, {**ORDER, "amount": "x"}, ORDER, 7]).encode()
    summary = _run(registry, tmp_path, _write(tmp_path, "in.json", doc))
    assert (summary.total, summary.valid, summary.quarantined) == (4, 2, 2)
    lines = _lines(summary)
    assert [line["headers"]["guard.source.line"] for line in lines] == ["1", "3"]
    assert [line["headers"]["guard.reasons"] for line in lines] == ["wrong_type", "not_object"]


def test_broken_json_file_is_quarantined_as_one_record(registry: Registry, tmp_path: Path) -> None:
    data = b"[" + GOOD + b", " + GOOD
    summary = _run(registry, tmp_path, _write(tmp_path, "in.json", data))
    assert (summary.total, summary.quarantined) == (1, 1)
    (line,) = _lines(summary)
    assert line["headers"]["guard.reasons"] == "not_json"
    assert base64.b64decode(line["value_b64"]) == data


ELEMENTS = {
    "wrong_type": _bad(amount="x"),
    "nan": GOOD[:-1] + b', "score": NaN}',
    "duplicate_key": GOOD[:-1] + b', "amount": 1}',
    "float_overflow": GOOD.replace(b"12.5", b"1e400"),
    "huge_integer": GOOD.replace(b'"quantity": 2', b'"quantity": ' + b"8" * 5000),
}


@pytest.mark.parametrize("element", list(ELEMENTS.values()), ids=list(ELEMENTS))
def test_json_array_elements_get_the_same_verdicts_as_jsonl_lines(
    registry: Registry, tmp_path: Path, element: bytes
) -> None:
    """File mode must judge what the producer wrote, whichever file layout holds it."""
    as_lines = _write(tmp_path, "in.jsonl", GOOD + b"\n" + element + b"\n")
    as_array = _write(tmp_path, "in.json", b"[" + GOOD + b", " + element + b"]")
    by_lines = _run(registry, tmp_path / "a", as_lines)
    by_array = _run(registry, tmp_path / "b", as_array)
    assert (by_array.total, by_array.valid, by_array.by_reason) == (
        by_lines.total,
        by_lines.valid,
        by_lines.by_reason,
    )


def test_quarantined_json_array_element_keeps_its_original_bytes(
    registry: Registry, tmp_path: Path
) -> None:
    """quarantine/README.md: `value_b64` is the record's exact original bytes."""
    element = json.dumps({**ORDER, "amount": "x"}, separators=(",", ":")).encode()
    summary = _run(registry, tmp_path, _write(tmp_path, "in.json", b"[" + element + b"]"))
    (line,) = _lines(summary)
    assert base64.b64decode(line["value_b64"]) == element


def test_lone_surrogate_in_a_json_array_gets_a_verdict(registry: Registry, tmp_path: Path) -> None:
    element = GOOD[:-1] + b', "note": "\\ud800"}'
    summary = _run(registry, tmp_path, _write(tmp_path, "in.json", b"[" + element + b"]"))
    assert summary.total == 1


def test_stdin_is_read_for_dash(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class _Stdin:
        buffer = io.BytesIO(GOOD + b"\nnot json\n")

    monkeypatch.setattr(sys, "stdin", _Stdin())
    summary = _run(registry, tmp_path, "-")
    assert (summary.total, summary.valid, summary.quarantined) == (2, 1, 1)
    assert _lines(summary)[0]["headers"]["guard.source.file"] == "<stdin>"


def test_summary_counts_reasons_and_fields(registry: Registry, tmp_path: Path) -> None:
    data = b"\n".join(
        [
            GOOD,
            _bad(amount="x", currency="JPY"),
            _bad(amount="y"),
            b"nope",
            json.dumps(
                {k: v for k, v in ORDER.items() if k not in {"amount", "quantity"}}
            ).encode(),
        ]
    )
    summary = _run(registry, tmp_path, _write(tmp_path, "in.jsonl", data))
    assert (summary.total, summary.valid, summary.quarantined) == (5, 1, 4)
    assert summary.by_reason == {
        "wrong_type": 2,
        "not_in_enum": 1,
        "not_json": 1,
        "missing_field": 1,
    }
    assert summary.by_field == {"amount": 3, "currency": 1, "(record)": 1, "quantity": 1}


def test_summary_json_is_plain_data(registry: Registry, tmp_path: Path) -> None:
    summary = _run(registry, tmp_path, _write(tmp_path, "in.jsonl", GOOD + b"\nnope\n"))
    data = json.loads(json.dumps(summary.to_json()))
    assert data == {
        "subject": "orders",
        "total": 2,
        "valid": 1,
        "quarantined": 1,
        "blank_lines": 0,
        "by_reason": {"not_json": 1},
        "by_field": {"(record)": 1},
        "by_rule": {},
        "quarantine_file": summary.quarantine_file,
    }


def test_accepted_versions_are_applied(registry: Registry, tmp_path: Path) -> None:
    name = _write(tmp_path, "in.jsonl", _bad(channel="web") + b"\n")
    assert _run(registry, tmp_path, name, accepted="latest").valid == 1
    assert _run(registry, tmp_path, name, accepted=[1]).quarantined == 1


def test_limits_are_applied(registry: Registry, tmp_path: Path) -> None:
    name = _write(tmp_path, "in.jsonl", GOOD + b"\n")
    summary = _run(registry, tmp_path, name, limits=Limits(max_bytes=10))
    assert summary.by_reason == {"too_large": 1}


def test_expose_values_reaches_the_quarantine_file(registry: Registry, tmp_path: Path) -> None:
    name = _write(tmp_path, "in.jsonl", _bad(currency="SECRET") + b"\n")
    hidden = json.loads(_lines(_run(registry, tmp_path / "a", name))[0]["headers"]["guard.errors"])
    shown = json.loads(
        _lines(_run(registry, tmp_path / "b", name, expose_values=True))[0]["headers"][
            "guard.errors"
        ]
    )
    assert "value" not in hidden[0]
    assert shown[0]["value"] == "'SECRET'"


def test_unknown_subject_is_a_contract_error(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="no contracts for subject 'payments'"):
        validate_files(registry, "payments", ["-"], tmp_path)


def test_accepted_version_without_contract_is_a_config_error(
    registry: Registry, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError):
        _run(registry, tmp_path, "-", accepted=[7])


def test_missing_input_file_is_an_input_error(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        _run(registry, tmp_path, str(tmp_path / "missing.jsonl"))


def test_validate_files_counts_rules_that_did_not_hold(tmp_path: Path) -> None:
    from guard.contracts import load_registry
    from guard.filemode import validate_files

    root = REPO
    registry = load_registry(root / "examples" / "rules")
    data = root / "examples" / "data" / "orders-rules.jsonl"
    summary = validate_files(registry, "orders", [str(data)], tmp_path / "q")
    assert (summary.total, summary.valid, summary.quarantined) == (4, 2, 2)
    assert summary.by_reason == {"rule_failed": 2}
    assert summary.to_json()["by_rule"] == {
        "chf_ships_to_switzerland (quarantine)": 1,
        "amount_per_unit_plausible (quarantine)": 1,
        "lines_within_quantity (warn)": 1,
    }
