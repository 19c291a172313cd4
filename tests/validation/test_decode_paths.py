"""The fast decode path (jiter) and the exact one (stdlib + hooks) give the same verdict on
any bytes: the fast path may only make a verdict cheaper, never different."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guard.validation.decode import Limits, decode, decode_exact
from tests.fixtures.json_strategies import json_values

# The package re-exports the function `decode`, which hides the module of the same name.
decode_module = importlib.import_module("guard.validation.decode")

LIMITS = Limits(max_bytes=1_048_576, max_depth=8)

# What a hostile producer splices into otherwise valid JSON: each one breaks a poison rule,
# a syntax rule, or only looks like it does.
FRAGMENTS = [
    b'"\\ud800"', b'"\\udc00"', b'"\\ud83d\\ude00"', b'"\\ud800\\u0041"', b"NaN", b"-Infinity",
    b"Infinity", b"1e400", b"-1E+400", b"1e-400", b"1e0400", b"9" * 19, b"-9223372036854775809",
    b"9223372036854775807", b"1180591620717411303424", b"0.1e309", b"-0", b"-0.0", b"01", b"1.",
    b'"\xff"', b'"\xed\xa0\x80"', b'"\x01"', b"\xef\xbb\xbf", b"\x0c", b'"a":1,"a":2',
    b'{"k":1,"k":1}', b"[" * 9 + b"]" * 9, b'"e000"', b"[],[]", b"},{", b"true", b"null",
]  # fmt: skip

json_documents = json_values()


def _same(value: bytes) -> None:
    fast, exact = decode(value, LIMITS), decode_exact(value, LIMITS)
    # repr: 1 == 1.0 and 0.0 == -0.0, but a decoder that turns one into the other differs.
    assert repr(fast) == repr(exact), value


@settings(max_examples=400)
@given(json_documents, st.booleans())
def test_the_paths_agree_on_valid_json_documents(document: Any, ascii_only: bool) -> None:
    _same(json.dumps({"doc": document}, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass"))


@settings(max_examples=600)
@given(
    json_documents,
    st.lists(st.tuples(st.integers(min_value=0), st.sampled_from(FRAGMENTS)), max_size=3),
    st.integers(min_value=0),
    st.booleans(),
)
def test_the_paths_agree_on_documents_with_hostile_fragments_spliced_in(
    document: Any, splices: list[tuple[int, bytes]], cut: int, truncate: bool
) -> None:
    text = json.dumps({"doc": document}).encode()
    for at, fragment in splices:
        at %= len(text) + 1
        text = text[:at] + fragment + text[at:]
    if truncate:
        text = text[: cut % (len(text) + 1)]
    _same(text)


@pytest.mark.parametrize("fragment", FRAGMENTS)
def test_the_paths_agree_on_each_fragment_as_a_field_value(fragment: bytes) -> None:
    _same(b'{"a":' + fragment + b"}")
    _same(b'{"a":[1,' + fragment + b"]}")


def test_an_ordinary_record_never_reaches_the_exact_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the exact path ran")

    monkeypatch.setattr(decode_module, "decode_exact", refuse)
    record = b'{"order_id":"o-1","amount":12.5,"items":[{"sku":"A","qty":2}],"note":"caf\\u00e9"}'
    obj, error = decode(record, LIMITS)
    assert error is None and obj is not None and obj["note"] == "café"


# Folded text as decode scans it: digits are 0, brackets `{`, and no run of 19 digits (such
# text takes the exact path before the exponent test is asked).
_FOLDED_PIECES = [b":", b",", b"{", b"}", b"-", b".", b"e", b"e000", b'"', b"a"] + [
    b"0" * n for n in (1, 2, 5, 17, 18)
]
# A number with a 3-digit exponent, whole or cut short at either end (a miss near a hit).
_exponent = st.builds(
    lambda sep, minus, whole, frac, cut: (sep + minus + whole + frac + b"e000")[cut:],
    st.sampled_from([b":", b",", b"{", b"a", b"."]),
    st.sampled_from([b"", b"-"]),
    st.sampled_from([1, 2, 17, 18]).map(lambda n: b"0" * n),  # the longest runs matter most
    st.one_of(st.just(b""), st.sampled_from([0, 1, 17, 18]).map(lambda n: b"." + b"0" * n)),
    st.integers(0, 3),
)
_folded_text = st.lists(st.one_of(st.sampled_from(_FOLDED_PIECES), _exponent), max_size=12).map(
    b"".join
)


@settings(max_examples=2000)
@given(_folded_text)
def test_the_exponent_test_near_each_e000_finds_what_the_whole_text_search_finds(
    folded: bytes,
) -> None:
    if b"0" * 19 in folded:
        return
    whole = decode_module._BIG_EXPONENT.search(folded) is not None
    assert decode_module._big_exponent(folded) == whole
