"""Turn raw record bytes into a JSON object, or one FieldError saying why not.

Cheap checks run first (size before decoding; an opener count before any depth walk), so a
10 MB or 10,000-level value costs one C-level scan, and ordinary records pay almost nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

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


_decoder = json.JSONDecoder(object_pairs_hook=_unique_pairs, parse_constant=_reject_constant)


def decode(value: bytes | None, limits: Limits) -> tuple[dict[str, Any] | None, FieldError | None]:
    """Decode one record value. Exactly one of the pair is None."""
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
    may_be_deep = value.count(b"{") + value.count(b"[") > limits.max_depth
    try:
        obj = _decoder.decode(text)
    except _DuplicateKeyError as exc:
        return None, FieldError(exc.key, Reason.DUPLICATE_KEY, "key appears more than once")
    except _NotFiniteError as exc:
        return None, FieldError("", Reason.NOT_FINITE, f"{exc} is not valid JSON")
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
    if not isinstance(obj, dict):
        return None, FieldError(
            "", Reason.NOT_OBJECT, f"top level is a JSON {_json_kind(obj)}, not an object"
        )
    return obj, None


def _depth_exceeds(obj: Any, limit: int) -> bool:
    """Iterative depth walk (no recursion) with early exit."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, dict | list))
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
