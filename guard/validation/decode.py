"""Turn raw record bytes into a JSON object, or one FieldError saying why not.

Cheap checks run first (size before decoding; an opener count before any depth walk), so a
10 MB or 10,000-level value costs one C-level scan, and ordinary records pay almost nothing.

Two decoders, one verdict. The fast path is jiter (pydantic's Rust JSON parser) with duplicate
keys caught and NaN refused; it also refuses invalid UTF-8 and lone surrogate escapes. It runs
only on records the scans clear of what it would accept but the rules refuse (an integer beyond
64 bits, a 3-digit exponent that may overflow, nesting that may pass the depth limit). Anything
it refuses goes to the exact path (the stdlib decoder with hooks), which finds the reason and
path; so the fast path can only make a verdict cheaper, never different
(tests/validation/test_decode_paths.py checks the two agree on generated and mutated input).

The poison rules hold for the whole document, declared fields or not: duplicate keys, NaN and
Infinity, a number that overflows to infinity (`1e400`), an integer beyond 64 bits, a lone
surrogate escape (`"\\ud800"`, in a value or a key). Overflowing floats are caught by a decode
hook; the rest by C-level scans of the text (a run of 19 digits, a `\\uD8..`-`\\uDF..`
escape) that send only the rare suspicious record through a walk, which names the path.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import jiter

from guard.validation.reasons import FieldError, Reason


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 1_048_576
    max_depth: int = 64


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        self.key = key


class _NotFiniteError(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise _DuplicateKeyError(k)
            seen.add(k)
    return obj


def _reject_constant(name: str) -> Any:
    raise _NotFiniteError(name)


class _FloatOverflowError(ValueError):
    pass


_INFINITIES = (math.inf, -math.inf)


def _finite_float(literal: str) -> float:
    number = float(literal)
    if number in _INFINITIES:
        raise _FloatOverflowError(literal)
    return number


_decoder = json.JSONDecoder(
    object_pairs_hook=_unique_pairs, parse_constant=_reject_constant, parse_float=_finite_float
)
# Only to find where an overflowing number is, once `_decoder` refused the record.
_locating_decoder = json.JSONDecoder(object_pairs_hook=_unique_pairs)
# One C-level pass folds what the scans look for: every digit to 0, `[` to `{` (openers), `]`
# to `}` (closers), `E` to `e`, and drops JSON whitespace and `+` (exponent signs). Only for
# scanning; the decoders read the text.
_SCAN_FOLD = bytes.maketrans(b"123456789[]E", b"000000000{}e")
_SCAN_DROP = b" \t\r\n+"
# An opener right after `closer,` starts a container beside the one just closed; of such a
# run of siblings at most one lies on any chain of nested containers, so nesting depth is at
# most openers - siblings. Brackets inside strings only add to the openers as much as to the
# siblings (each `},{` in a string holds its own `{`), so the bound holds on the raw text.
_SIBLING = b"},{"
_INT64_DIGITS = b"0" * 19  # fewer digits always fit in a signed 64-bit integer
# A float overflows only with a 3-digit exponent or 309+ digits (caught by the run above).
# A literal scan first; only a hit (hex in a string, like a uuid's `3e271`, hits too) pays for
# the pattern that wants a number after `:`, `,` or `[` (folded to `{`).
_BIG_EXPONENT = re.compile(rb"[:,{]-?0+(?:\.0+)?e000")
# Where no run of 19 digits is (checked first), a match of the pattern starts at most this far
# before its `e`: `[:,{]`, `-`, 18 digits, `.`, 18 digits.
_EXPONENT_REACH = 1 + 1 + 18 + 1 + 18
# A lone surrogate needs a \\uD800-\\uDFFF escape; most records hold no backslash at all.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # paired escapes decode to one character


def decode(value: bytes | None, limits: Limits) -> tuple[dict[str, Any] | None, FieldError | None]:
    """Decode one record value. Exactly one of the pair is None."""
    if value is None or not value or len(value) > limits.max_bytes:
        return decode_exact(value, limits)
    folded = value.translate(_SCAN_FOLD, _SCAN_DROP)
    openers = folded.count(b"{")
    if (
        (openers <= limits.max_depth or openers - folded.count(_SIBLING) <= limits.max_depth)
        and _INT64_DIGITS not in folded
        and (b"e000" not in folded or not _big_exponent(folded))
    ):
        try:
            obj = jiter.from_json(
                value, allow_inf_nan=False, catch_duplicate_keys=True, cache_mode="keys"
            )
        except ValueError:
            pass  # the exact path says why
        else:
            if type(obj) is dict:
                return obj, None
    return decode_exact(value, limits, folded)


def _big_exponent(folded: bytes) -> bool:
    """`_BIG_EXPONENT.search(folded)`, on text with no run of 19 digits: the pattern is tried
    only just before each `e000` (in a 1 KB record the whole-text search cost ~5 us)."""
    at = folded.find(b"e000")
    while at >= 0:
        if _BIG_EXPONENT.search(folded, max(at - _EXPONENT_REACH, 0), at + 4) is not None:
            return True
        at = folded.find(b"e000", at + 1)
    return False


def decode_exact(
    value: bytes | None, limits: Limits, folded: bytes | None = None
) -> tuple[dict[str, Any] | None, FieldError | None]:
    """The reference decoder: every verdict, with the reason and path of a refusal."""
    if value is None:
        return None, FieldError("", Reason.NULL_VALUE, "value is null (tombstone)")
    size = len(value)
    if size == 0:
        return None, FieldError("", Reason.EMPTY_VALUE, "value is empty")
    if size > limits.max_bytes:
        return None, FieldError(
            "", Reason.TOO_LARGE, f"value is {size} bytes, limit is {limits.max_bytes}"
        )
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, FieldError("", Reason.NOT_UTF8, f"invalid UTF-8 at byte {exc.start}")
    # Nesting can only exceed the limit if there are more openers than the limit.
    if folded is None:
        folded = value.translate(_SCAN_FOLD, _SCAN_DROP)
    may_be_deep = folded.count(b"{") - folded.count(_SIBLING) > limits.max_depth
    try:
        obj = _decoder.decode(text)
    except _DuplicateKeyError as exc:
        path = _locate_duplicate(text, exc.key)
        return None, FieldError(path, Reason.DUPLICATE_KEY, "key appears more than once")
    except _NotFiniteError as exc:
        return None, FieldError("", Reason.NOT_FINITE, f"{exc} is not valid JSON")
    except _FloatOverflowError:
        return None, _locate_overflow(text)
    except RecursionError:
        return None, FieldError("", Reason.TOO_DEEP, f"nesting deeper than {limits.max_depth}")
    except json.JSONDecodeError as exc:
        # exc.msg describes the syntax problem without quoting the document.
        return None, FieldError(
            "", Reason.NOT_JSON, f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        )
    except ValueError as exc:  # e.g. an integer literal longer than Python's digit limit
        return None, FieldError("", Reason.OUT_OF_RANGE, _first_line(exc))
    if may_be_deep and _depth_exceeds(obj, limits.max_depth):
        return None, FieldError("", Reason.TOO_DEEP, f"nesting deeper than {limits.max_depth}")
    long_numbers = _INT64_DIGITS in folded
    surrogates = b"\\" in value and _SURROGATE_ESCAPE.search(value) is not None
    if long_numbers or surrogates:
        found = _poison(obj, numbers=long_numbers, strings=surrogates)
        if found is not None:
            return None, found
    if not isinstance(obj, dict):
        return None, FieldError(
            "", Reason.NOT_OBJECT, f"top level is a JSON {_json_kind(obj)}, not an object"
        )
    return obj, None


_OVERFLOW = "number is too large: it overflows to infinity"


def _poison(obj: Any, numbers: bool, strings: bool) -> FieldError | None:
    """The first out-of-range number or lone surrogate in `obj`, with its path (iterative,
    so any depth the decoder accepted is fine)."""
    stack: list[tuple[Any, str]] = [(obj, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                child = f"{path}.{key}" if path else key
                if strings and _LONE_SURROGATE.search(key):
                    return FieldError(child, Reason.LONE_SURROGATE, _SURROGATE_KEY)
                stack.append((value, child))
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(node))
        elif isinstance(node, str):
            if strings and _LONE_SURROGATE.search(node):
                return FieldError(path, Reason.LONE_SURROGATE, _SURROGATE_VALUE)
        elif numbers and isinstance(node, int) and not isinstance(node, bool):
            if not _INT64_MIN <= node <= _INT64_MAX:
                return FieldError(path, Reason.OUT_OF_RANGE, "integer does not fit in 64 bits")
        elif numbers and isinstance(node, float) and node in _INFINITIES:
            return FieldError(path, Reason.OUT_OF_RANGE, _OVERFLOW)
    return None


def _locate_overflow(text: str) -> FieldError:
    """The overflowing number's path; the whole record if the rest of it does not decode."""
    try:
        found = _poison(_locating_decoder.decode(text), numbers=True, strings=False)
    except (ValueError, RecursionError):
        found = None
    return found or FieldError("", Reason.OUT_OF_RANGE, _OVERFLOW)


class _Pairs(list[tuple[str, Any]]):
    """An object's pairs as written, repeated keys kept: only to locate a duplicate key."""


def _locate_duplicate(text: str, key: str) -> str:
    """The duplicated key's path (`customer.id`, `items[1].sku`), as other errors name it.
    The hook that refused it sees one object's pairs, not where the object is, so the text is
    decoded again keeping every object's pairs, and walked to the object the hook stopped at
    (the first to close with a repeated key). The bare key if the text does not decode."""
    first: list[_Pairs] = []

    def keep(pairs: list[tuple[str, Any]]) -> _Pairs:
        obj = _Pairs(pairs)
        if not first and len({k for k, _ in pairs}) != len(pairs):
            first.append(obj)
        return obj

    try:
        root = json.JSONDecoder(object_pairs_hook=keep).decode(text)
    except (ValueError, RecursionError):  # broken after the duplicate: the decoder stopped there
        return key
    stack: list[tuple[Any, str]] = [(root, "")]
    while stack and first:
        node, path = stack.pop()
        if node is first[0]:
            return f"{path}.{key}" if path else key
        if isinstance(node, _Pairs):
            stack.extend((v, f"{path}.{k}" if path else k) for k, v in node)
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(node))
    return key


_SURROGATE_KEY = "field name holds a \\u escape of a lone surrogate: no Unicode character"
_SURROGATE_VALUE = "string holds a \\u escape of a lone surrogate: no Unicode character"


def _depth_exceeds(obj: Any, limit: int) -> bool:
    """Whether `obj` nests deeper than `limit`: one level at a time, no recursion, stopping at
    the first level past the limit (a list comprehension per level: a per-node stack costs
    several times more on records the bracket count cannot clear)."""
    level: list[Any] = [obj]
    depth = 1
    while level:
        if depth > limit:
            return True
        level = [
            child
            for node in level
            for child in (node.values() if type(node) is dict else node)
            if type(child) is dict or type(child) is list
        ]
        depth += 1
    return False


def _json_kind(obj: Any) -> str:
    if obj is None:
        return "null"
    if isinstance(obj, bool):
        return "boolean"
    if isinstance(obj, int | float):
        return "number"
    if isinstance(obj, str):
        return "string"
    return "array"


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200]
