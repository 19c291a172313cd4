"""Envelope trust: incoming guard.* headers are renamed unless the guard verifiably wrote them."""

from __future__ import annotations

from guard.quarantine.trust import (
    H_SIGNATURE,
    EnvelopeTrust,
    renamed_untrusted,
    sign,
    split_malformed,
)

KEY = b"secret"
LINEAGE = [("guard.source.topic", b"orders"), ("guard.attempt", b"2")]


def _signed(value: bytes = b"{}", headers: list | None = None) -> list:
    headers = [("trace", b"t"), *(headers if headers is not None else LINEAGE)]
    return [*headers, (H_SIGNATURE, sign(KEY, b"k", value, headers))]


def test_guard_headers_are_renamed_untrusted_in_place() -> None:
    headers = [("a", b"1"), ("guard.attempt", b"99"), ("guard.null.value", None)]
    assert renamed_untrusted(headers) == [
        ("a", b"1"),
        ("guard.untrusted.attempt", b"99"),
        ("guard.untrusted.null.value", None),
    ]


def test_renaming_twice_changes_nothing_more() -> None:
    once = renamed_untrusted([("guard.attempt", b"1")])
    assert renamed_untrusted(once) == once


def test_without_a_key_forged_attempts_count_for_nothing() -> None:
    for forged in (b"99", b"-1000000"):
        headers, attempts = EnvelopeTrust().admit(b"k", b"{}", [("guard.attempt", forged)])
        assert (headers, attempts) == ([("guard.untrusted.attempt", forged)], 0)


def test_a_signed_replay_record_keeps_its_lineage_and_attempts() -> None:
    headers = _signed()
    assert EnvelopeTrust(KEY).admit(b"k", b"{}", headers) == (headers, 2)


def test_a_signature_for_another_value_is_not_trusted() -> None:
    headers, attempts = EnvelopeTrust(KEY).admit(b"k", b"{changed}", _signed())
    assert attempts == 0 and ("guard.untrusted.attempt", b"2") in headers


def test_a_changed_attempt_breaks_the_signature() -> None:
    headers = [(n, b"0" if n == "guard.attempt" else v) for n, v in _signed()]
    assert EnvelopeTrust(KEY).admit(b"k", b"{}", headers)[1] == 0


def test_a_signature_made_with_another_key_is_not_trusted() -> None:
    assert EnvelopeTrust(b"other").admit(b"k", b"{}", _signed())[1] == 0


def test_untrusted_headers_beside_a_valid_signature_stay_untrusted() -> None:
    headers = _signed(headers=[*LINEAGE, ("guard.untrusted.attempt", b"99")])
    kept, attempts = EnvelopeTrust(KEY).admit(b"k", b"{}", headers)
    assert attempts == 2 and kept == headers


def test_malformed_header_keys_are_kept_as_raw_bytes_by_position() -> None:
    bad = b"\xffkey".decode("utf-8", "surrogateescape")
    kept, raw = split_malformed([("a", b"1"), (bad, None)])
    assert kept == [("a", b"1")]
    assert raw == [
        ("guard.malformed.header.1.key", b"\xffkey"),
        ("guard.malformed.header.1.value", None),
    ]
