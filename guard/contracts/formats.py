"""The string formats a contract field may declare (`format:`), as the record check runs
them: RFC 3339 dates and date-times, UUIDs, WHATWG e-mail addresses and RFC 3986 URIs; and
its `pattern` check. Apart from the compiler, so the contract file's own checks (spec.py: enum
values a format or pattern refuses) can use them without importing the compiler that imports
the spec."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, Strict, TypeAdapter
from pydantic_core import PydanticCustomError, SchemaError

# The message names the expected format only: the value itself is never echoed.
BAD_FORMAT_MESSAGE = "value is not a valid {format}"


def format_error(fmt: str) -> PydanticCustomError:
    return PydanticCustomError("bad_format", BAD_FORMAT_MESSAGE, {"format": fmt})


# RFC 3339, as JSON Schema's `date`/`date-time` formats mean: a full date, a time with
# seconds, and an offset. The regex fixes the shape; fromisoformat then checks the calendar.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
# The offset's minutes are 00-59 (fromisoformat would take `+00:60` as one hour).
DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-5][0-9])"
)
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_datetime(v: str) -> bool:
    """RFC 3339 date-time: the shape by regex, the calendar by fromisoformat."""
    if DATETIME.fullmatch(v) is None:
        return False
    try:
        datetime.fromisoformat(v.upper())  # the regex allowed only digits and T Z + - : .
    except ValueError:
        return False
    return True


def is_date(v: str) -> bool:
    """RFC 3339 full-date, YYYY-MM-DD."""
    if _DATE.fullmatch(v) is None:
        return False
    try:
        date.fromisoformat(v)
    except ValueError:
        return False
    return True


DATETIME_FORMAT = "date-time (RFC 3339, e.g. 2026-11-21T09:15:00Z)"


def _check_datetime(v: str) -> str:
    if not is_datetime(v):
        raise format_error(DATETIME_FORMAT)
    return v


def _check_date(v: str) -> str:
    if not is_date(v):
        raise format_error("date (YYYY-MM-DD)")
    return v


def _check_uuid(v: str) -> str:
    if UUID.fullmatch(v) is None:
        raise format_error("uuid (8-4-4-4-12 hex)")
    return v


# The WHATWG (HTML5) "valid e-mail address" grammar: what browsers accept in <input
# type=email>. A full RFC 5322 parser (email-validator) costs ~18 us per record; this ~0.3 us.
EMAIL = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*"
)


def _check_email(v: str) -> str:
    if EMAIL.fullmatch(v) is None:
        raise format_error("email")
    return v


# RFC 3986 `URI` (what JSON Schema's `uri` format means): scheme, hier-part, query, fragment,
# each from its own characters; anything else (a space, a newline, `<`, a non-ASCII letter, a
# `%` not followed by two hex digits) must be percent-encoded. urlsplit alone checks none of it.
_PCHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})"
_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:"
    r"(?://(?:(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*@)?"  # userinfo
    r"(?P<host>\[[^\[\]]*\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)"
    rf"(?::[0-9]*)?(?:/{_PCHAR}*)*"  # port, path-abempty
    rf"|/?(?:{_PCHAR}+(?:/{_PCHAR}*)*)?)"  # path-absolute, path-rootless, path-empty
    rf"(?:\?(?:{_PCHAR}|[/?])*)?(?:\#(?:{_PCHAR}|[/?])*)?"
)
_IP_FUTURE = re.compile(r"v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+")
_IPV6_CHARS = re.compile(r"[0-9A-Fa-f:.]+")


def _check_uri(v: str) -> str:
    m = _URI.fullmatch(v)
    if m is None or not _ip_literal_ok(m.group("host")):
        raise format_error("uri")
    try:
        parts = urlsplit(v)
    except ValueError:
        raise format_error("uri") from None
    if not parts.scheme or not (parts.netloc or parts.path):
        raise format_error("uri")
    return v


def _ip_literal_ok(host: str | None) -> bool:
    """A bracketed host is an IPv6 address or an IPvFuture literal (RFC 3986, 3.2.2)."""
    if not host or host[0] != "[":
        return True
    inner = host[1:-1]
    if _IP_FUTURE.fullmatch(inner) is not None:
        return True
    if _IPV6_CHARS.fullmatch(inner) is None:
        return False
    try:
        ipaddress.IPv6Address(inner)
    except ValueError:
        return False
    return True


FORMAT_CHECKS: dict[str, Callable[[str], str]] = {
    "date-time": _check_datetime,
    "date": _check_date,
    "uuid": _check_uuid,
    "email": _check_email,
    "uri": _check_uri,
}


# The format a `timestamp` / `date` field's values are checked against.
IMPLIED_FORMATS = {"timestamp": "date-time", "date": "date"}


def string_field(
    pattern: str | None = None, min_length: int | None = None, max_length: int | None = None
) -> Any:
    """A string field's `pattern` and length constraints, as the record check declares them:
    the pattern is run by pydantic-core's regex engine (Rust `regex`), not Python's `re`."""
    return Field(pattern=pattern, min_length=min_length, max_length=max_length)


@functools.lru_cache(maxsize=256)
def _pattern_check(pattern: str) -> Callable[[Any], bool] | None:
    try:
        adapter = TypeAdapter[str](Annotated[str, Strict(), string_field(pattern)])
    except SchemaError:  # the engine refuses the pattern itself: the compiler says so
        return None
    return adapter.validator.isinstance_python


def fits_pattern(pattern: str, v: str) -> bool | None:
    """Whether the record check's `pattern` check accepts `v` (a search, not anchored); None
    when its engine cannot compile the pattern (the contract then fails to compile)."""
    check = _pattern_check(pattern)
    return None if check is None else check(v)


def fits_format(fmt: str, v: str) -> bool:
    """Whether the record check's `fmt` check accepts `v`."""
    try:
        FORMAT_CHECKS[fmt](v)
    except PydanticCustomError:
        return False
    return True
