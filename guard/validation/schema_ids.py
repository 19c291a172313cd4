"""Which contract version a Schema Registry schema id names, and its Avro writer schema.

Ids are pinned per version in `schemas/<subject>/subject.yaml` (`schema_ids: {2: 102}`); the
writer schema of a pinned id is the contract's own Avro export. Without a pin, and when a
registry URL is configured, the id is looked up with the Schema Registry REST API
(`GET /schemas/ids/{id}` and `/schemas/ids/{id}/versions`): the registered version of the
route's registry subject names the contract version, and the registered schema is the writer
schema. Answers are cached; an unknown id is cached for a minute, so a schema registered
later is picked up (at most MAX_UNKNOWN_IDS of them: the ids come from the records). Only
a 404 with the registry's "schema not found" code makes an id unknown; a registry that cannot
be reached, or answers anything else, is a transient failure (the batch is retried with
backoff), never a quarantine verdict.
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from guard.config.settings import split_userinfo
from guard.contracts.avro import to_avro_schema
from guard.contracts.registry import Subject
from guard.errors import RegistryUnavailableError

UNKNOWN_TTL_S = 60.0
# Ids found unknown are remembered (each costs a registry request) up to this many: the ids
# come from the records, so a flood of random ones must not grow memory without bound.
MAX_UNKNOWN_IDS = 10_000
# Schema Registry's error code for "no schema with this id" (its 404 answers carry a JSON body
# with `error_code`). A 404 without it comes from something else (a proxy or ingress with no
# route, a wrong URL path, a registry too old for `/schemas/ids/{id}/versions`): not a verdict.
SCHEMA_NOT_FOUND = 40403
# ... and for "no such subject" / "no such version" (the subject listing, below).
NOT_FOUND = frozenset({40401, 40402, SCHEMA_NOT_FOUND})
# A flood of ids the registry does not know (random ids in garbage records) would cost one
# registry request per id. Once more than FLOOD_IDS were found unknown within UNKNOWN_TTL_S,
# an id is first looked for in the list of ids registered under the route's subject, read at
# most every LISTING_MAX_AGE_S: one request a second, whatever the records hold. (An id
# registered less than that before its record is read may then be taken for unknown.)
FLOOD_IDS = 100
LISTING_MAX_AGE_S = 1.0
# A registry answer (a schema, or the subjects using it) is far smaller; more is not one.
MAX_ANSWER_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Resolved:
    version: int
    writer: Any = None  # a parsed Avro schema (fastavro), for Avro payloads


@dataclass(frozen=True)
class RegistryLookup:
    """Where to ask for ids nobody pinned."""

    url: str
    subject: str  # the registry subject of the route's values, e.g. "orders-value"
    timeout_s: float = 5.0
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # urllib does not authenticate with a URL's user:password@ part: it sends it to the
        # resolver as part of the host name. It becomes Basic auth, the URL loses it.
        url, username, password = split_userinfo(self.url)
        if url != self.url:
            object.__setattr__(self, "url", url)
            if self.username is None:
                object.__setattr__(self, "username", username)
                object.__setattr__(self, "password", password)

    def get(self, path: str) -> Any | None:
        """The decoded JSON answer, or None when the registry says it has no such schema (404
        with error code 40403); every other failure raises RegistryUnavailableError."""
        request = urllib.request.Request(
            self.url.rstrip("/") + path,
            headers={"Accept": "application/vnd.schemaregistry.v1+json, application/json"},
        )
        if self.username is not None:
            token = base64.b64encode(f"{self.username}:{self.password or ''}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        where = _without_credentials(self.url.rstrip("/") + path)
        deadline = time.monotonic() + self.timeout_s
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                return json.loads(_read_by(answer, deadline))
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and _error_code(exc) in NOT_FOUND:
                return None
            raise RegistryUnavailableError(f"schema registry {where}: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            # HTTPException: a connection cut mid-answer (IncompleteRead), a garbled status line
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            why = f"{type(exc).__name__}: {reason}" if str(reason) else type(exc).__name__
            raise RegistryUnavailableError(f"schema registry {where}: {why}") from exc


def _read_by(answer: Any, deadline: float) -> bytes:
    """The whole body, read by `deadline` and at most MAX_ANSWER_BYTES: the socket timeout
    bounds each read, not the answer, so a registry trickling a byte at a time held a look-up
    (and the batch) for as long as it liked. TimeoutError and ValueError are transient."""
    chunks: list[bytes] = []
    size = 0
    while chunk := answer.read1(65_536):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise ValueError(f"answer larger than {MAX_ANSWER_BYTES} bytes")
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise TimeoutError("no complete answer within the timeout")
    body = b"".join(chunks)
    if answer.length:  # read1 does not say when the connection closed before Content-Length
        raise http.client.IncompleteRead(body, answer.length)
    return body


def _error_code(exc: urllib.error.HTTPError) -> object:
    """The `error_code` of a Schema Registry error answer, or None when the body is not one."""
    try:
        body = json.loads(exc.read(65_536))
    except (OSError, ValueError, http.client.HTTPException):
        return None
    return body.get("error_code") if isinstance(body, dict) else None


def _without_credentials(url: str) -> str:
    """The URL to show in a message: any user:password@ part removed."""
    return split_userinfo(url)[0]


class SchemaIds:
    def __init__(
        self, subject: Subject, by_id: dict[int, int], lookup: RegistryLookup | None = None
    ) -> None:
        """`by_id`: pinned schema id -> contract version."""
        self.subject = subject
        self.lookup = lookup
        self._by_id = dict(by_id)
        self._cache: dict[int, Resolved] = {}
        self._unknown: dict[int, float] = {}  # id -> when it was found unknown
        self._recent_unknown: deque[float] = deque()  # when the registry said "no such id"
        self._listing: set[int] = set()  # the ids registered under the registry subject
        self._listed_versions: set[int] = set()
        self._listed_at = -math.inf

    def resolve(self, schema_id: int, avro: bool) -> Resolved | None:
        cached = self._cache.get(schema_id)
        if cached is not None:
            return cached
        version = self._by_id.get(schema_id)
        if version is not None and version in self.subject.versions:
            writer = None
            if avro:
                writer = _parse(to_avro_schema(self.subject.versions[version]))
            found: Resolved | None = Resolved(version, writer)
        else:
            found = self._look_up(schema_id, avro)
        if found is not None:
            self._cache[schema_id] = found
        return found

    def _look_up(self, schema_id: int, avro: bool) -> Resolved | None:
        if self.lookup is None:
            return None
        when = self._unknown.get(schema_id)
        if when is not None and time.monotonic() - when < UNKNOWN_TTL_S:
            return None
        if self._flooded() and schema_id not in self._listed():
            self._remember_unknown(schema_id)
            return None
        found = self._ask(schema_id, avro)
        if found is None:
            self._remember_unknown(schema_id)
            self._recent_unknown.append(time.monotonic())
        return found

    def _flooded(self) -> bool:
        recent, since = self._recent_unknown, time.monotonic() - UNKNOWN_TTL_S
        while recent and recent[0] < since:
            recent.popleft()
        return len(recent) > FLOOD_IDS

    def _listed(self) -> set[int]:
        """The ids registered under the registry subject, read at most every
        LISTING_MAX_AGE_S (a version's id does not change: each is asked once)."""
        assert self.lookup is not None
        if time.monotonic() - self._listed_at < LISTING_MAX_AGE_S:
            return self._listing
        subject = urllib.parse.quote(self.lookup.subject, safe="")
        versions = self.lookup.get(f"/subjects/{subject}/versions") or []
        for v in versions:
            if isinstance(v, int) and v not in self._listed_versions:
                one = self.lookup.get(f"/subjects/{subject}/versions/{v}")
                if isinstance(one, dict) and isinstance(one.get("id"), int):
                    self._listing.add(one["id"])
                self._listed_versions.add(v)
        self._listed_at = time.monotonic()
        return self._listing

    def _remember_unknown(self, schema_id: int) -> None:
        """Insertion order is age order (an id asked again moves to the end): when full, the
        oldest entries go first, expired or not."""
        unknown = self._unknown
        unknown.pop(schema_id, None)
        while len(unknown) >= MAX_UNKNOWN_IDS:
            del unknown[next(iter(unknown))]
        unknown[schema_id] = time.monotonic()

    def _ask(self, schema_id: int, avro: bool) -> Resolved | None:
        assert self.lookup is not None
        where = f"/schemas/ids/{schema_id}/versions"
        uses = self.lookup.get(where)
        if uses is None:  # the registry's own "no such id"
            return None
        if not isinstance(uses, list):
            # A 200 of another shape (a proxy, a wrong path, another service) says nothing
            # about the id: a registry failure, retried, not a verdict that quarantines.
            raise RegistryUnavailableError(f"schema registry {where}: not a list of versions")
        mine = self.lookup.subject
        versions = [
            u.get("version") for u in uses if isinstance(u, dict) and u.get("subject") == mine
        ]
        version = next((v for v in versions if v in self.subject.versions), None)
        if version is None:
            return None
        writer = None
        if avro:
            registered = self.lookup.get(f"/schemas/ids/{schema_id}")
            if registered is None:
                return None
            if not isinstance(registered, dict):
                raise RegistryUnavailableError(
                    f"schema registry /schemas/ids/{schema_id}: not a schema object"
                )
            if registered.get("schemaType", "AVRO") != "AVRO":
                return None
            try:
                writer = _parse(json.loads(registered["schema"]))
                if _recursive(writer, ()):
                    # No contract describes unbounded nesting, and fastavro decodes nesting
                    # by native recursion: a 400 KB payload of one recursive union nested
                    # 200,000 deep crashes the process (SIGSEGV), not just the record.
                    return None
                if _empty_items(writer, {}):
                    # An array of items that take no bytes (null, a record of nulls): a
                    # 95-byte payload claiming 30 million of them took 11 s and 560 MB to
                    # decode, and a larger count exhausts memory. No contract describes one.
                    return None
            except Exception:  # a registered schema fastavro cannot use: the id is unusable
                return None
        return Resolved(version, writer)


def _recursive(schema: Any, open_names: tuple[str, ...]) -> bool:
    """Whether a parsed schema (fastavro: full names, every named type defined before use)
    refers to a named type inside that type's own definition."""
    if isinstance(schema, str):
        return schema in open_names
    if isinstance(schema, list):  # a union
        return any(_recursive(branch, open_names) for branch in schema)
    if not isinstance(schema, dict):
        return False
    name = schema.get("name")
    inside = (*open_names, name) if isinstance(name, str) else open_names
    kind = schema.get("type")
    if kind in {"record", "error"}:
        return any(_recursive(f.get("type"), inside) for f in schema.get("fields") or ())
    if kind == "array":
        return _recursive(schema.get("items"), inside)
    if kind == "map":
        return _recursive(schema.get("values"), inside)
    if isinstance(kind, dict | list | str) and kind not in _LEAVES:
        return _recursive(kind, inside)  # {"type": <a schema or a name>}
    return False


def _empty_items(schema: Any, named: dict[str, Any]) -> bool:
    """Whether a parsed (non-recursive) schema has an array whose items encode to no bytes."""
    if isinstance(schema, list):
        return any(_empty_items(branch, named) for branch in schema)
    if not isinstance(schema, dict):
        return False
    kind = schema.get("type")
    if isinstance(schema.get("name"), str) and kind in {"record", "error", "enum", "fixed"}:
        named[schema["name"]] = schema
    if kind in {"record", "error"}:
        return any(_empty_items(f.get("type"), named) for f in schema.get("fields") or ())
    if kind == "array":
        items = schema.get("items")
        return _takes_no_bytes(items, named) or _empty_items(items, named)
    if kind == "map":
        return _empty_items(schema.get("values"), named)
    if isinstance(kind, dict | list):
        return _empty_items(kind, named)
    return False


def _takes_no_bytes(schema: Any, named: dict[str, Any]) -> bool:
    """Whether every value of `schema` encodes to zero bytes (null, fixed of size 0, a record
    of such fields). Unions, enums, arrays and maps always write at least one byte."""
    if isinstance(schema, str):
        return schema == "null" or (schema in named and _takes_no_bytes(named[schema], named))
    if not isinstance(schema, dict):
        return False
    kind = schema.get("type")
    if kind in {"record", "error"}:
        if isinstance(schema.get("name"), str):
            named[schema["name"]] = schema
        return all(_takes_no_bytes(f.get("type"), named) for f in schema.get("fields") or ())
    if kind == "fixed":
        return schema.get("size") == 0
    if isinstance(kind, str | dict) and kind not in {"enum", "array", "map"}:
        return _takes_no_bytes(kind, named)  # {"type": "null"} or {"type": <a schema>}
    return False


_LEAVES = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "string", "enum", "fixed"}
)


def _parse(schema: Any) -> Any:
    import fastavro

    return fastavro.parse_schema(_without_uuid_type(schema))


def _without_uuid_type(schema: Any) -> Any:
    """`schema` with its `uuid` logical types dropped: the string is decoded as written and
    the contract's uuid format judges it. fastavro parses it into a UUID, which accepts
    `urn:uuid:...`, `{...}` and unhyphenated spellings the contract refuses (the record passed,
    its bytes unchanged) and raises on anything else (`not_avro`, no field path)."""
    if isinstance(schema, list):
        return [_without_uuid_type(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        k: _without_uuid_type(v)
        for k, v in schema.items()
        if not (k == "logicalType" and v == "uuid")
    }
