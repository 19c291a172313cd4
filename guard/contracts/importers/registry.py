"""Contracts from a Schema Registry subject (Confluent-compatible REST API): every version,
with its `ruleSet.domainRules` of type CEL as rules. A rule the guard cannot run (another
type, a TRANSFORM) is refused at its JSON Pointer, never dropped."""

from __future__ import annotations

import base64
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from guard.contracts.importers.avro import from_avro
from guard.contracts.importers.cel_names import from_confluent
from guard.contracts.importers.common import ImportRefused, pointer
from guard.contracts.importers.jsonschema import from_json_schema
from guard.errors import InputError

_TIMEOUT_S = 10.0


def _get(url: str) -> Any:
    """GET `url`; a `user:password@` in it is sent as Basic auth, and never shown."""
    where = without_credentials(url)
    headers = {"Accept": "application/vnd.schemaregistry.v1+json"}
    try:
        parts = urllib.parse.urlsplit(url)
        if parts.username is not None or parts.password is not None:
            user = urllib.parse.unquote(parts.username or "")
            password = urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        request = urllib.request.Request(where, headers=headers)
        with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as resp:
            return json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        raise InputError(f"schema registry {where}: {exc}") from exc


def without_credentials(url: str) -> str:
    """`url` as it may be shown: any `user:password@` part of its authority removed (done on
    the text, so a URL that does not parse is shown without its secret too)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    return f"{scheme}://{rest[:end].rpartition('@')[2]}{rest[end:]}"


def fetch_versions(url: str, registry_subject: str) -> list[dict[str, Any]]:
    """Every version of the subject, oldest first, as the registry returns them."""
    base = f"{url.rstrip('/')}/subjects/{urllib.parse.quote(registry_subject, safe='')}/versions"
    shown = f"{without_credentials(url).rstrip('/')}{base[len(url.rstrip('/')) :]}"
    numbers = _get(base)
    if not isinstance(numbers, list) or not all(_is_int(n) for n in numbers):
        raise InputError(f"schema registry {shown}: expected a list of version numbers")
    entries = []
    for n in sorted(numbers):
        entry = _get(f"{base}/{n}")
        if not isinstance(entry, dict) or not _is_int(entry.get("version")):
            raise InputError(
                f"schema registry {shown}/{n}: expected a schema version with a `version` number"
            )
        entries.append(entry)
    return entries


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def from_registry_version(entry: dict[str, Any], source: str, subject: str) -> dict[str, Any]:
    """The contract document for one registry version (its number is the contract's)."""
    version = int(entry["version"])
    schema_type = entry.get("schemaType", "AVRO")
    try:
        schema = json.loads(entry["schema"])
    except (KeyError, TypeError, ValueError):
        raise ImportRefused(source, "/schema", "not a JSON document") from None
    if schema_type == "JSON":
        doc = from_json_schema(schema, f"{source} (schema)", subject, version)
    elif schema_type == "AVRO":
        doc = from_avro(schema, f"{source} (schema)", subject, version)
    else:
        raise ImportRefused(source, "/schemaType", f"{schema_type} schemas are not imported")
    rules = domain_rules(entry.get("ruleSet"), source)
    if rules:
        doc["rules"] = rules
    return doc


def domain_rules(rule_set: Any, source: str) -> list[dict[str, Any]]:
    if not rule_set:
        return []
    if not isinstance(rule_set, dict):
        raise ImportRefused(source, "/ruleSet", "not an object")
    out = []
    where = "/ruleSet/domainRules"
    rules = rule_set.get("domainRules") or []
    if not isinstance(rules, list):
        raise ImportRefused(source, where, "not a list")
    for i, rule in enumerate(rules):
        at = pointer(where, i)
        if not isinstance(rule, dict):
            raise ImportRefused(source, at, "not an object")
        for key in ("name", "expr"):
            if not isinstance(rule.get(key), str):
                raise ImportRefused(source, pointer(at, key), "missing, or not a string")
        if rule.get("type") != "CEL":
            raise ImportRefused(
                source,
                pointer(at, "type"),
                f"{rule.get('type')!r} rules are not imported (CEL only)",
            )
        if rule.get("kind", "CONDITION") != "CONDITION":
            raise ImportRefused(source, pointer(at, "kind"), "only CONDITION rules are imported")
        on_failure = str(rule.get("onFailure") or "ERROR").upper()
        converted: dict[str, Any] = {
            "name": rule["name"],
            "expr": from_confluent(str(rule["expr"])),
            "on_failure": "warn" if on_failure.split(",")[0] == "NONE" else "quarantine",
        }
        if rule.get("doc"):
            converted["message"] = rule["doc"]
        out.append(converted)
    migration = rule_set.get("migrationRules") or []
    if migration:
        raise ImportRefused(source, "/ruleSet/migrationRules", "migration rules are not imported")
    return out
