"""The envelope is the guard's alone: what becomes of `guard.*` headers a record arrives with.

A producer can write any header, including `guard.attempt=99` or a `guard.null.value` marker.
So on a source record:

- without a valid signature, every incoming `guard.X` header is renamed `guard.untrusted.X`
  (deterministic, nothing lost; names already under `guard.untrusted.` stay as they are, so
  round trips do not grow them) on the clean and quarantine copies, and the attempt count
  starts again at 1;
- with `quarantine.hmac_key` configured, a record that replay sent back to its source topic
  carries `guard.signature`: an HMAC-SHA256 over its key, value, its other `guard.*` headers
  except `guard.untrusted.*`, and its version header(s) (names, values, order). If it verifies,
  those headers are the guard's own: the lineage stays on the clean copy and the quarantine
  copy counts the attempt on. The version header is signed because replay chose it (the
  version that accepted the record): changed, the lineage would vouch for another contract.
- the signed lineage names the replay run (`guard.replay.id`, random per run) and the
  quarantine copy it came from (`guard.replay.quarantine.*`), so each replayed record is
  unique. The first offset a lineage arrives at is remembered (a bounded memory per
  process); the same lineage at another offset is a verbatim re-send, not a new attempt, and
  is treated as unsigned. The same offset again (a batch retried, a partition re-assigned) is
  the same record. A re-send the process cannot remember (before a restart, on another
  instance, beyond the memory) is trusted again: docs/trust.md says what that allows.

The quarantine topic is written only by the guard, so replay trusts what it reads there.
Header keys a client could not decode (not UTF-8) are kept as raw bytes in
`guard.malformed.header.<i>.key` / `.value`, `<i>` being the header's position.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Sequence

import structlog

from guard.quarantine.envelope import H_ATTEMPT, PREFIX, UNTRUSTED
from guard.transport.base import InHeaders

H_SIGNATURE = PREFIX + "signature"
H_MALFORMED = PREFIX + "malformed.header."
REPLAY_LINEAGE = PREFIX + "replay."  # replay id, time and quarantine coordinates
VERSION_HEADER = "schema-version"  # settings.version_header's default
LINEAGE_MEMORY = 100_000  # lineages remembered per process (~100 B each)

log = structlog.get_logger(__name__)
Coordinates = tuple[str, int, int]  # topic, partition, offset


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


def sign(
    key: bytes,
    record_key: bytes | None,
    value: bytes | None,
    headers: InHeaders,
    version_header: str = VERSION_HEADER,
) -> bytes:
    """The `guard.signature` value for a record with `headers` (the ones `_signed` picks)."""
    return (
        hmac.new(key, _message(record_key, value, _signed(headers, version_header)), hashlib.sha256)
        .hexdigest()
        .encode()
    )


def _signed(headers: InHeaders, version_header: str) -> InHeaders:
    """The headers a signature covers: the guard's own minus the signature itself, and the
    version header, in their order on the record."""
    return [
        (n, v)
        for n, v in headers
        if n == version_header
        or (n.startswith(PREFIX) and not n.startswith(UNTRUSTED) and n != H_SIGNATURE)
    ]


class EnvelopeTrust:
    """Decides, per source record carrying `guard.*` headers, which of them to believe."""

    def __init__(self, hmac_key: bytes | None = None, memory: int = LINEAGE_MEMORY) -> None:
        self.hmac_key = hmac_key
        self._memory = memory
        self._first_seen: OrderedDict[bytes, Coordinates] = OrderedDict()

    def admit(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: InHeaders,
        version_header: str = VERSION_HEADER,
        at: Coordinates | None = None,
    ) -> tuple[InHeaders, int]:
        """Headers to copy on, and the attempts the record verifiably had before (else 0).
        `at`: where the record was read; without it re-sends cannot be told apart."""
        if self.hmac_key is not None:
            attempts = self._verified_attempts(key, value, headers, version_header)
            if attempts is not None and self._first_arrival(headers, at):
                return headers, attempts
        return renamed_untrusted(headers), 0

    def _first_arrival(self, headers: InHeaders, at: Coordinates | None) -> bool:
        """False for a signed lineage already admitted at other coordinates (a re-send)."""
        lineage = _message(None, None, [(n, v) for n, v in headers if n.startswith(REPLAY_LINEAGE)])
        if at is None or not lineage:
            return True
        first = self._first_seen.setdefault(lineage, at)
        self._first_seen.move_to_end(lineage)
        if len(self._first_seen) > self._memory:
            self._first_seen.popitem(last=False)
        if first == at:
            return True
        log.warning(
            "replayed record re-sent; its lineage is not trusted again",
            topic=at[0],
            partition=at[1],
            offset=at[2],
            first_seen_partition=first[1],
            first_seen_offset=first[2],
        )
        return False

    def _verified_attempts(
        self, key: bytes | None, value: bytes | None, headers: InHeaders, version_header: str
    ) -> int | None:
        assert self.hmac_key is not None
        claimed = [v for n, v in headers if n == H_SIGNATURE]
        if len(claimed) != 1 or claimed[0] is None:
            return None
        own = _signed(headers, version_header)
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
