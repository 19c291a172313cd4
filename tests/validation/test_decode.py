"""Decoding raw record bytes: every way bytes can fail to be a JSON object."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guard.validation import Limits, Reason, decode

LIMITS = Limits()


def _reason(value: bytes | None, limits: Limits = LIMITS) -> Reason:
    obj, err = decode(value, limits)
    assert obj is None
    assert err is not None
    return err.code


def test_valid_object_decodes() -> None:
    obj, err = decode(b'{"a": 1, "b": [true, null, "x"], "c": {"d": 1.5}}', LIMITS)
    assert err is None
    assert obj == {"a": 1, "b": [True, None, "x"], "c": {"d": 1.5}}


def test_default_limits_are_one_mib_and_depth_64() -> None:
    assert (LIMITS.max_bytes, LIMITS.max_depth) == (1_048_576, 64)


def test_null_value_is_a_tombstone() -> None:
    assert _reason(None) is Reason.NULL_VALUE


def test_empty_value_is_empty_value() -> None:
    assert _reason(b"") is Reason.EMPTY_VALUE


def test_whitespace_only_value_is_not_json() -> None:
    assert _reason(b"   ") is Reason.NOT_JSON


def test_non_json_text_is_not_json() -> None:
    assert _reason(b"order_id=42&amount=3") is Reason.NOT_JSON


def test_truncated_json_is_not_json() -> None:
    assert _reason(b'{"a": 1') is Reason.NOT_JSON


def test_trailing_garbage_is_not_json() -> None:
    assert _reason(b'{"a": 1} x') is Reason.NOT_JSON


def test_utf8_bom_is_not_json() -> None:
    assert _reason(b'\xef\xbb\xbf{"a": 1}') is Reason.NOT_JSON


def test_not_json_message_gives_position_without_quoting_the_document() -> None:
    _, err = decode(b'{"secret-7f3a": oops}', LIMITS)
    assert err is not None
    assert err.code is Reason.NOT_JSON
    assert "line 1 column" in err.message
    assert "secret-7f3a" not in err.message


def test_invalid_utf8_is_not_utf8() -> None:
    _, err = decode(b'{"a": "\xff\xfe"}', LIMITS)
    assert err is not None
    assert err.code is Reason.NOT_UTF8
    assert err.message == "invalid UTF-8 at byte 7"


def test_utf8_encoded_surrogate_is_not_utf8() -> None:
    assert _reason(b'{"a": "\xed\xa0\x80"}') is Reason.NOT_UTF8


def test_value_one_byte_over_the_limit_is_too_large() -> None:
    assert _reason(b" " * (LIMITS.max_bytes + 1)) is Reason.TOO_LARGE


def test_value_exactly_at_the_limit_is_not_too_large() -> None:
    value = b'{"a": "' + b"x" * (LIMITS.max_bytes - 9) + b'"}'
    assert len(value) == LIMITS.max_bytes
    obj, err = decode(value, LIMITS)
    assert err is None
    assert obj is not None


def test_ten_mb_value_is_too_large_without_being_decoded() -> None:
    """Size is checked first: invalid UTF-8 in a 10 MB value still reports too_large (the
    UTF-8 check would have said not_utf8)."""
    value = b"\xff" * (10 * 1024 * 1024)
    _, err = decode(value, LIMITS)
    assert err is not None
    assert err.code is Reason.TOO_LARGE
    assert err.message == f"value is {len(value)} bytes, limit is {LIMITS.max_bytes}"


def test_custom_byte_limit_is_applied() -> None:
    assert _reason(b'{"a": 12345}', Limits(max_bytes=5)) is Reason.TOO_LARGE


def _objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def _arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_nesting_at_the_depth_limit_is_accepted() -> None:
    obj, err = decode(_objects(64), LIMITS)
    assert err is None
    assert obj is not None


def test_nesting_one_past_the_depth_limit_is_too_deep() -> None:
    assert _reason(_objects(65)) is Reason.TOO_DEEP


def test_ten_thousand_nested_objects_are_too_deep() -> None:
    assert _reason(_objects(10_000)) is Reason.TOO_DEEP


def test_ten_thousand_nested_arrays_are_too_deep() -> None:
    assert _reason(_arrays(10_000)) is Reason.TOO_DEEP


def test_deep_nesting_inside_an_object_field_is_too_deep() -> None:
    value = b'{"ok": 1, "x": ' + _arrays(10_000) + b"}"
    assert _reason(value) is Reason.TOO_DEEP


def test_many_brackets_inside_strings_do_not_count_as_depth() -> None:
    value = b'{"a": "' + b"[{" * 1000 + b'"}'
    obj, err = decode(value, LIMITS)
    assert err is None
    assert obj == {"a": "[{" * 1000}


def _beside_a_basket(nested: bytes) -> bytes:
    """`nested` next to 100 line items: enough openers that the depth walk runs."""
    return b'{"items": [' + b",".join([b'{"q":1}'] * 100) + b'], "deep": ' + nested + b"}"


def test_a_wide_record_nesting_to_the_depth_limit_is_accepted() -> None:
    obj, err = decode(_beside_a_basket(_objects(63)), LIMITS)  # 1 + 63 levels
    assert err is None
    assert obj is not None


def test_a_wide_record_nesting_one_past_the_depth_limit_is_too_deep() -> None:
    assert _reason(_beside_a_basket(_objects(64))) is Reason.TOO_DEEP


def test_wide_but_shallow_value_is_not_too_deep() -> None:
    value = b'{"a": [' + b",".join([b"[1]"] * 5000) + b"]}"
    obj, err = decode(value, LIMITS)
    assert err is None
    assert obj is not None


def test_custom_depth_limit_is_applied() -> None:
    assert _reason(_objects(3), Limits(max_depth=2)) is Reason.TOO_DEEP


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_constants_are_not_finite(token: bytes) -> None:
    _, err = decode(b'{"score": ' + token + b"}", LIMITS)
    assert err is not None
    assert err.code is Reason.NOT_FINITE


def test_non_finite_constant_nested_in_an_array_is_not_finite() -> None:
    assert _reason(b'{"a": [1, {"b": NaN}]}') is Reason.NOT_FINITE


@pytest.mark.parametrize("literal", [b"1e400", b"-1.5E+400", b"1" + b"0" * 400 + b".0"])
def test_a_float_overflowing_to_infinity_anywhere_is_out_of_range(literal: bytes) -> None:
    _, err = decode(b'{"a": 1, "extra": {"deep": [0, ' + literal + b"]}}", LIMITS)
    assert err is not None
    assert (err.path, err.code) == ("extra.deep[1]", Reason.OUT_OF_RANGE)


def test_an_overflowing_float_before_a_syntax_error_is_still_out_of_range() -> None:
    assert _reason(b'{"x": 1e400, oops') is Reason.OUT_OF_RANGE


@pytest.mark.parametrize("number", [2**63, -(2**63) - 1, 2**70])
def test_an_integer_beyond_64_bits_anywhere_is_out_of_range(number: int) -> None:
    _, err = decode(b'{"undeclared": [%d]}' % number, LIMITS)
    assert err is not None
    assert (err.path, err.code) == ("undeclared[0]", Reason.OUT_OF_RANGE)


@pytest.mark.parametrize("number", [2**63 - 1, -(2**63), 1_700_000_000_000_000_000])
def test_integers_within_64_bits_pass_even_with_19_digits(number: int) -> None:
    assert decode(b'{"n": %d, "s": "1234567890123456789012"}' % number, LIMITS)[1] is None


def test_a_lone_surrogate_in_a_value_is_lone_surrogate_not_utf8() -> None:
    _, err = decode(b'{"a": {"b": "x\\ud800y"}}', LIMITS)
    assert err is not None
    assert (err.path, err.code) == ("a.b", Reason.LONE_SURROGATE)


def test_a_lone_surrogate_in_a_field_name_is_lone_surrogate() -> None:
    _, err = decode(b'{"ok": 1, "\\uDC00": 2}', LIMITS)
    assert err is not None
    assert err.code is Reason.LONE_SURROGATE


def test_a_surrogate_pair_escape_is_one_valid_character() -> None:
    obj, err = decode(b'{"a": "\\ud83d\\ude00"}', LIMITS)
    assert err is None and obj == {"a": "\U0001f600"}


def test_duplicate_top_level_key_is_duplicate_key() -> None:
    _, err = decode(b'{"amount": 1, "b": 2, "amount": 3}', LIMITS)
    assert err is not None
    assert err.code is Reason.DUPLICATE_KEY
    assert err.path == "amount"


def test_duplicate_nested_key_is_duplicate_key() -> None:
    _, err = decode(b'{"shipping": {"country": "DE", "country": "FR"}}', LIMITS)
    assert err is not None
    assert err.code is Reason.DUPLICATE_KEY
    assert err.path == "shipping.country"


@pytest.mark.parametrize(
    ("value", "path"),
    [
        (b'{"customer": {"id": 1, "id": 2}}', "customer.id"),
        (b'{"items": [{"sku": "a"}, {"sku": "b", "sku": "c"}]}', "items[1].sku"),
        (b'{"a": {"b": [[{"c": {"k": 1, "k": 2}}]]}}', "a.b[0][0].c.k"),
        (b'[{"k": 1, "k": 2}]', "[0].k"),
    ],
)
def test_a_nested_duplicate_key_is_reported_at_its_full_path(value: bytes, path: str) -> None:
    _, err = decode(value, LIMITS)
    assert err is not None and err.code is Reason.DUPLICATE_KEY
    assert err.path == path


def test_same_key_in_sibling_objects_is_not_a_duplicate() -> None:
    obj, err = decode(b'{"a": {"k": 1}, "b": {"k": 2}}', LIMITS)
    assert err is None
    assert obj == {"a": {"k": 1}, "b": {"k": 2}}


def test_five_thousand_digit_integer_is_out_of_range() -> None:
    _, err = decode(b'{"n": ' + b"9" * 5000 + b"}", LIMITS)
    assert err is not None
    assert err.code is Reason.OUT_OF_RANGE
    assert "9" * 50 not in err.message


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (b"[1, 2]", "array"),
        (b'"a string"', "string"),
        (b"42", "number"),
        (b"1.5", "number"),
        (b"true", "boolean"),
        (b"null", "null"),
    ],
)
def test_non_object_top_level_is_not_object(value: bytes, kind: str) -> None:
    _, err = decode(value, LIMITS)
    assert err is not None
    assert err.code is Reason.NOT_OBJECT
    assert err.message == f"top level is a JSON {kind}, not an object"


def test_decode_errors_carry_no_value_or_version() -> None:
    _, err = decode(b"nope", LIMITS)
    assert err is not None
    assert (err.path, err.version, err.value) == ("", None, None)


def _depth(obj: object) -> int:
    if isinstance(obj, dict):
        return 1 + max(map(_depth, obj.values()), default=0)
    if isinstance(obj, list):
        return 1 + max(map(_depth, obj), default=0)
    return 0


# Brackets, commas and whitespace inside strings too: the cheap bracket count must never let a
# record through that nests deeper than the limit.
_TRICKY_TEXT = st.text(alphabet='{}[], \t\n:"\\a', max_size=6)
_NESTED = st.recursive(
    st.integers(0, 9) | _TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TRICKY_TEXT, inner, max_size=3),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None)
@given(body=_NESTED, indent=st.sampled_from([None, 1]), limit=st.integers(1, 6))
def test_a_record_is_too_deep_exactly_when_it_nests_past_the_limit(
    body: object, indent: int | None, limit: int
) -> None:
    record = {"k": body}
    value = json.dumps(record, indent=indent).encode()
    obj, err = decode(value, Limits(max_depth=limit))
    if _depth(record) > limit:
        assert err is not None and err.code is Reason.TOO_DEEP
    else:
        assert err is None and obj == record
