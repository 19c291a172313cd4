"""The envelope is the guard's alone: what becomes of `guard.*` headers a record arrives with.

A producer can write any header, including `guard.attempt=99` or a `guard.null.value` marker.
So on a source record:

- without a valid signature, every incoming `guard.X` header is renamed `guard.untrusted.X`
  (deterministic, nothing lost; names already under `guard.untrusted.` stay as they are, so
  round trips do not grow them) on the clean and quarantine copies, and the attempt count
  starts again at 1;
- with `quarantine.hmac_key` configured, a record that replay sent back to its source topic
  carries `guard.signature`: an HMAC-SHA256 over its key, value and its other `guard.*`
  headers except `guard.untrusted.*` (names, values, order). If it verifies, those headers
  are the guard's own: the lineage stays on the clean copy and the quarantine copy counts
  the attempt on.

The quarantine topic is written only by the guard, so replay trusts what it reads there.
Header keys a client could not decode (not UTF-8) are kept as raw bytes in
`guard.malformed.header.<i>.key` / `.value`, `<i>` being the header's position.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from guard.quarantine.envelope import H_ATTEMPT, PREFIX, UNTRUSTED
from guard.transport.base import InHeaders

H_SIGNATURE = PREFIX + "signature"
H_MALFORMED = PREFIX + "malformed.header."


def renamed_untrusted(headers: InHeaders) -> InHeaders:
    """Every `guard.X` header renamed `guard.untrusted.X`; order and values unchanged."""
    return [
        (UNTRUSTED + name[len(PREFIX) :], value)
        if name.startswith(PREFIX) and not name.startswith(UNTRUSTED)
        else (name, value)
        for name, value in headers
    ]


def _message(
    key: bytes | None, value: bytes | None, signed: Sequence[tuple[str, bytes | None]]
) -> bytes:
    """Length-prefixed key, value and headers: no two inputs give the same bytes."""
    parts: list[bytes] = []
    for item in (key, value, *(p for name, v in signed for p in (name.encode(), v))):
        if item is None:
            parts.append(b"\xff\xff\xff\xff")
        else:
            parts.append(len(item).to_bytes(4, "big") + item)
    return b"".join(parts)


def sign(key: bytes, record_key: bytes | None, value: bytes | None, headers: InHeaders) -> bytes:
    """The `guard.signature` value for a record whose `guard.*` headers are `headers`'."""
    return (
        hmac.new(key, _message(record_key, value, _signed(headers)), hashlib.sha256)
        .hexdigest()
        .encode()
    )


def _signed(headers: InHeaders) -> InHeaders:
    """The headers a signature covers: the guard's own, minus the signature itself."""
    return [
        (n, v)
        for n, v in headers
        if n.startswith(PREFIX) and not n.startswith(UNTRUSTED) and n != H_SIGNATURE
    ]


class EnvelopeTrust:
    """Decides, per source record carrying `guard.*` headers, which of them to believe."""

    def __init__(self, hmac_key: bytes | None = None) -> None:
        self.hmac_key = hmac_key

    def admit(
        self, key: bytes | None, value: bytes | None, headers: InHeaders
    ) -> tuple[InHeaders, int]:
        """Headers to copy on, and the attempts the record verifiably had before (else 0)."""
        if self.hmac_key is not None:
            attempts = self._verified_attempts(key, value, headers)
            if attempts is not None:
                return headers, attempts
        return renamed_untrusted(headers), 0

    def _verified_attempts(
        self, key: bytes | None, value: bytes | None, headers: InHeaders
    ) -> int | None:
        assert self.hmac_key is not None
        claimed = [v for n, v in headers if n == H_SIGNATURE]
        if len(claimed) != 1 or claimed[0] is None:
            return None
        own = _signed(headers)
        expected = hmac.new(self.hmac_key, _message(key, value, own), hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest().encode(), claimed[0]):
            return None
        attempts = [v for n, v in own if n == H_ATTEMPT]
        try:
            return max(0, int(attempts[-1] or b"")) if attempts else 0
        except ValueError:
            return 0


def split_malformed(headers: InHeaders) -> tuple[InHeaders, InHeaders]:
    """Headers whose keys are proper text, and the raw bytes of those that are not."""
    kept: InHeaders = []
    raw: InHeaders = []
    for i, (name, value) in enumerate(headers):
        try:
            str.encode(name, "utf-8")  # strict, whatever str subclass the client returned
        except UnicodeEncodeError:
            raw.append((f"{H_MALFORMED}{i}.key", _raw_key(name)))
            raw.append((f"{H_MALFORMED}{i}.value", value))
            continue
        kept.append((name, value))
    return kept, raw


def _raw_key(name: str) -> bytes:
    try:
        return str.encode(name, "utf-8", "surrogateescape")  # the bytes a client escaped
    except UnicodeEncodeError:
        return str.encode(name, "utf-8", "surrogatepass")  # any other lone surrogate
