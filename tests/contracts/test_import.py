"""`guard schemas import` from JSON Schema, Avro and a Schema Registry subject, `export
--format confluent`, and round trips (import -> export -> import) for all three."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner, Result

from guard.cli.main import cli
from guard.contracts import load_registry
from guard.contracts.importers.cel_names import from_confluent, to_confluent
from guard.contracts.spec import ContractSpec
from tests.fixtures.paths import REPO

ROOT = REPO


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _spec(schemas: Path, version: int) -> ContractSpec:
    return load_registry(schemas).subject("orders").versions[version].spec


def _export(schemas: Path, version: int, fmt: str) -> str:
    result = _run("schemas", "export", "--schemas-dir", str(schemas), "-s", "orders",
                  "-v", str(version), "--format", fmt)  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output


def _import(schemas: Path, kind: str, *args: str) -> Result:
    return _run("schemas", "import", "--schemas-dir", str(schemas), "--from", kind,
                "-s", "orders", *args)  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "fmt", "suffix"), [("jsonschema", "json-schema", "json"), ("avro", "avro", "avsc")]
)
def test_round_trip_import_export_import_is_stable(
    tmp_path: Path, kind: str, fmt: str, suffix: str
) -> None:
    first = tmp_path / f"orders.{suffix}"
    first.write_text(_export(ROOT / "schemas", 2, fmt))
    a, b = tmp_path / "a", tmp_path / "b"
    assert _import(a, kind, "-v", "2", str(first)).exit_code == 0
    again = tmp_path / f"again.{suffix}"
    again.write_text(_export(a, 2, fmt))
    result = _import(b, kind, "-v", "2", str(again))
    assert result.exit_code == 0, result.output
    assert _spec(a, 2) == _spec(b, 2)


def test_json_schema_import_gives_back_the_exported_contract(tmp_path: Path) -> None:
    source = tmp_path / "orders.json"
    source.write_text(_export(ROOT / "schemas", 2, "json-schema"))
    result = _import(tmp_path / "s", "jsonschema", str(source))
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("orders/v1.yaml")  # the next free version
    assert _spec(tmp_path / "s", 1).fields == _spec(ROOT / "schemas", 2).fields


def _obj(a: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"a": a}, **extra}


STRING = {"type": "string"}
REFUSED = [
    (_obj({"oneOf": [STRING]}), "/properties/a/oneOf"),
    (
        _obj({"type": "array", "items": {**STRING, "multipleOf": 2}}),
        "/properties/a/items/multipleOf",
    ),
    (
        _obj({"type": "object", "properties": {"b": STRING}, "additionalProperties": STRING}),
        "/properties/a/additionalProperties",
    ),
    (_obj({"$ref": "#/$defs/A"}, **{"$defs": {"A": {**STRING, "const": "x"}}}), "/$defs/A/const"),
]


@pytest.mark.parametrize(("schema", "where"), REFUSED)
def test_json_schema_without_a_contract_form_is_refused_at_its_pointer(
    tmp_path: Path, schema: dict[str, Any], where: str
) -> None:
    source = tmp_path / "s.json"
    source.write_text(json.dumps(schema))
    result = _import(tmp_path / "s", "jsonschema", str(source))
    assert result.exit_code == 2
    assert f"{source}: {where}:" in result.output
    assert not (tmp_path / "s").exists()


def test_avro_without_a_contract_form_is_refused_at_its_pointer(tmp_path: Path) -> None:
    source = tmp_path / "s.avsc"
    fields = [
        {"name": "a", "type": "string"},
        {"name": "m", "type": {"type": "map", "values": "int"}},
    ]
    source.write_text(json.dumps({"type": "record", "name": "r", "fields": fields}))
    result = _import(tmp_path / "s", "avro", str(source))
    assert result.exit_code == 2
    assert "/fields/1/type/type: Avro type 'map' has no contract form" in result.output


def test_cel_root_is_renamed_token_by_token() -> None:
    expr = "message.amount > 0.0 && message.note != 'message.x' && message.message == 1"
    assert from_confluent(expr) == (
        "record.amount > 0.0 && record.note != 'message.x' && record.message == 1"
    )
    assert to_confluent(from_confluent(expr)) == expr


# --- a Schema Registry subject -----------------------------------------------------------------


class _Registry(BaseHTTPRequestHandler):
    """The Schema Registry subject calls: list versions, get one, register one."""

    subjects: ClassVar[dict[str, list[dict[str, Any]]]] = {}
    authorizations: ClassVar[list[str | None]] = []  # each GET's Authorization header

    def _send(self, code: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.authorizations.append(self.headers.get("Authorization"))
        parts = self.path.strip("/").split("/")  # subjects/<s>/versions[/<n>]
        versions = self.subjects.get(parts[1])
        if versions is None:
            self._send(404, {"error_code": 40401, "message": "Subject not found"})
        elif len(parts) == 3:
            self._send(200, [v["version"] for v in versions])
        else:
            self._send(200, {"subject": parts[1], **versions[int(parts[3]) - 1]})

    def do_POST(self) -> None:
        parts = self.path.strip("/").split("/")
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert set(body) <= {"schema", "schemaType", "ruleSet", "references", "metadata"}
        json.loads(body["schema"])  # a registry parses the schema
        versions = self.subjects.setdefault(parts[1], [])
        versions.append({"version": len(versions) + 1, "id": 100 + len(versions), **body})
        self._send(200, {"id": versions[-1]["id"]})

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def registry() -> Iterator[str]:
    _Registry.subjects = {}
    _Registry.authorizations = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _seed(tmp_path: Path) -> None:
    """orders-value: v1 an Avro schema, v2 a JSON Schema with CEL domain rules."""
    avro = _export(ROOT / "schemas", 1, "avro")
    v2 = json.loads(_export(ROOT / "schemas", 2, "json-schema"))
    chf = "message.currency != 'CHF' || "
    chf += "(has(message.shipping) && message.shipping.country == 'CH')"
    lines = "!has(message.items) || size(message.items) <= message.quantity"
    cel = {"kind": "CONDITION", "mode": "WRITE", "type": "CEL"}
    rules = [
        {"name": "chf_ships_to_switzerland", **cel, "expr": chf,
         "doc": "CHF orders ship to Switzerland", "onFailure": "DLQ"},
        {"name": "lines_within_quantity", **cel, "expr": lines, "onFailure": "NONE"},
    ]  # fmt: skip
    _Registry.subjects["orders-value"] = [
        {"version": 1, "id": 1, "schema": avro},
        {"version": 2, "id": 2, "schemaType": "JSON", "schema": json.dumps(v2),
         "ruleSet": {"domainRules": rules}},
    ]  # fmt: skip


def test_registry_import_takes_every_version_and_its_cel_rules(
    tmp_path: Path, registry: str
) -> None:
    _seed(tmp_path)
    schemas = tmp_path / "s"
    result = _import(schemas, "registry", "--url", registry)
    assert result.exit_code == 0, result.output
    assert sorted(load_registry(schemas).subject("orders").versions) == [1, 2]
    rules = _spec(schemas, 2).rules
    assert [(r.name, r.on_failure, r.message) for r in rules] == [
        ("chf_ships_to_switzerland", "quarantine", "CHF orders ship to Switzerland"),
        ("lines_within_quantity", "warn", None),
    ]
    assert rules[0].expr.startswith("record.currency != 'CHF'")


def test_registry_round_trip_through_export_confluent(tmp_path: Path, registry: str) -> None:
    import urllib.request

    _seed(tmp_path)
    a = tmp_path / "a"
    assert _import(a, "registry", "--url", registry).exit_code == 0
    for version in (1, 2):  # register the exports under another subject, as a team would
        body = _export(a, version, "confluent").encode()
        request = urllib.request.Request(
            f"{registry}/subjects/copy-value/versions", body, method="POST",
            headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
        )  # fmt: skip
        urllib.request.urlopen(request, timeout=10).close()
    exported = _Registry.subjects["copy-value"][1]
    assert exported["ruleSet"]["domainRules"][0]["expr"].startswith("message.currency")
    assert exported["ruleSet"]["domainRules"][1]["onFailure"] == "NONE"
    b = tmp_path / "b"
    result = _import(b, "registry", "--url", registry, "--registry-subject", "copy-value")
    assert result.exit_code == 0, result.output
    assert _spec(a, 2) == _spec(b, 2)
    assert _spec(a, 1).rules == _spec(b, 1).rules == []


def test_registry_rule_the_guard_cannot_run_is_refused_at_its_pointer(
    tmp_path: Path, registry: str
) -> None:
    _seed(tmp_path)
    rule = {"name": "j", "kind": "CONDITION", "type": "JSONATA", "expr": "$x"}
    _Registry.subjects["orders-value"][1]["ruleSet"]["domainRules"].append(rule)
    result = _import(tmp_path / "s", "registry", "--url", registry)
    assert result.exit_code == 2
    assert "orders-value/versions/2: /ruleSet/domainRules/2/type: 'JSONATA' rules" in result.output
    assert not (tmp_path / "s").exists()  # nothing written, not even version 1


def _imported_verdicts(tmp_path: Path, field: dict[str, Any], values: list[Any]) -> list[bool]:
    """The imported contract's verdict on `{"a": value}` for each value."""
    from guard.validation import RecordValidator

    source = tmp_path / "s.json"
    source.write_text(json.dumps(_obj(field, required=["a"])))
    result = _import(tmp_path / "s", "jsonschema", str(source))
    assert result.exit_code == 0, result.output
    validator = RecordValidator(load_registry(tmp_path / "s").subject("orders"), [1])
    return [validator.validate(json.dumps({"a": v}).encode()).ok for v in values]


@pytest.mark.parametrize(
    "field",
    [
        {"type": "string", "enum": ["x", None]},  # the type refuses null
        {"type": ["string", "null"], "enum": ["x"]},  # the enum refuses null
        {"anyOf": [STRING, {"type": "null"}], "enum": ["x"]},  # so does one beside anyOf
    ],
)
def test_json_schema_null_is_imported_as_allowed_only_where_type_and_enum_both_allow_it(
    tmp_path: Path, field: dict[str, Any]
) -> None:
    from jsonschema import Draft202012Validator

    values = ["x", None, "y"]
    source = Draft202012Validator(_obj(field, required=["a"]))
    expected = [source.is_valid({"a": v}) for v in values]
    assert expected == [True, False, False]
    assert _imported_verdicts(tmp_path, field, values) == expected


CONFLICTING_SIBLINGS = [
    # 2020-12 applies both maximums: 50 fails the referenced 10; the override let it pass.
    (
        _obj(
            {"$ref": "#/$defs/small", "maximum": 100},
            **{"$defs": {"small": {"type": "integer", "maximum": 10}}},
        ),
        "/properties/a/maximum",
    ),
    (
        _obj({"anyOf": [{"type": "integer", "maximum": 10}, {"type": "null"}], "maximum": 100}),
        "/properties/a/maximum",
    ),
]


@pytest.mark.parametrize(("schema", "where"), CONFLICTING_SIBLINGS)
def test_json_schema_keyword_beside_ref_or_anyof_that_differs_is_refused_not_overridden(
    tmp_path: Path, schema: dict[str, Any], where: str
) -> None:
    source = tmp_path / "s.json"
    source.write_text(json.dumps(schema))
    result = _import(tmp_path / "s", "jsonschema", str(source))
    assert result.exit_code == 2, result.output
    assert f"{source}: {where}: `maximum` here and in the schema" in result.output
    assert not (tmp_path / "s").exists()


def test_json_schema_ref_to_a_boolean_schema_is_refused_not_a_crash(tmp_path: Path) -> None:
    source = tmp_path / "s.json"
    source.write_text(json.dumps(_obj({"$ref": "#/$defs/any"}, **{"$defs": {"any": True}})))
    result = _import(tmp_path / "s", "jsonschema", str(source))
    assert result.exit_code == 2, result.output
    assert "/$defs/any: a schema must be an object" in result.output


def test_avro_int_is_imported_with_its_32_bit_range(tmp_path: Path) -> None:
    from fastavro import parse_schema
    from fastavro.validation import validate

    from guard.validation import RecordValidator

    schema = {"type": "record", "name": "r", "fields": [{"name": "n", "type": "int"}]}
    source = tmp_path / "s.avsc"
    source.write_text(json.dumps(schema))
    assert _import(tmp_path / "s", "avro", str(source)).exit_code == 0
    validator = RecordValidator(load_registry(tmp_path / "s").subject("orders"), [1])
    parsed = parse_schema(schema)
    for n in (2**31 - 1, 2**31, -(2**31), -(2**31) - 1):
        avro_ok = validate({"n": n}, parsed, raise_errors=False)
        assert validator.validate(json.dumps({"n": n}).encode()).ok == avro_ok, n


def test_registry_url_credentials_are_sent_as_basic_auth_and_never_shown(
    tmp_path: Path, registry: str
) -> None:
    import base64

    _seed(tmp_path)
    with_secret = registry.replace("http://", "http://team:s3cret-pw@")
    result = _import(tmp_path / "s", "registry", "--url", with_secret)
    assert result.exit_code == 0, result.output
    token = base64.b64encode(b"team:s3cret-pw").decode()
    assert _Registry.authorizations and set(_Registry.authorizations) == {f"Basic {token}"}
    missing = _import(tmp_path / "t", "registry", "--url", with_secret, "-s", "nope")
    assert missing.exit_code == 2
    assert f"schema registry {registry}/subjects/nope-value/versions: HTTP Error 404" in (
        missing.output
    )
    assert "s3cret-pw" not in result.output + missing.output


@pytest.mark.parametrize("url", ["registry.example.com", "http://registry:port", "http://[::1"])
def test_registry_url_that_is_not_a_url_is_an_input_error(tmp_path: Path, url: str) -> None:
    result = _import(tmp_path / "s", "registry", "--url", url)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: schema registry ")


_JSON_SCHEMA = json.dumps(_obj(STRING))
MALFORMED_ANSWERS = [
    ({"version": "x", "schema": _JSON_SCHEMA}, "expected a list of version numbers"),
    ({"version": 1, "schemaType": "JSON", "schema": {"type": "object"}}, "/schema: not a JSON"),
    (
        {"version": 1, "schemaType": "JSON", "schema": _JSON_SCHEMA,
         "ruleSet": {"domainRules": [{"type": "CEL", "expr": "true"}]}},
        "/ruleSet/domainRules/0/name: missing, or not a string",
    ),
    ({"version": 1, "schemaType": "JSON", "schema": _JSON_SCHEMA, "ruleSet": [1]}, "/ruleSet:"),
]  # fmt: skip


@pytest.mark.parametrize(("entry", "message"), MALFORMED_ANSWERS)
def test_registry_answer_of_an_unexpected_shape_is_an_input_error(
    tmp_path: Path, registry: str, entry: dict[str, Any], message: str
) -> None:
    _Registry.subjects["orders-value"] = [entry]
    result = _import(tmp_path / "s", "registry", "--url", registry)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "s").exists()


def test_json_schema_whose_contract_is_invalid_names_the_field(tmp_path: Path) -> None:
    bad = {"type": "integer", "minimum": 5, "maximum": 1}
    items = {"type": "object", "properties": {"q": bad}}
    source = tmp_path / "s.json"
    source.write_text(json.dumps(_obj({"type": "array", "items": items})))
    result = _import(tmp_path / "s", "jsonschema", str(source))
    assert result.exit_code == 2, result.output
    assert (
        f"{source}: /: not a valid contract: field 'a[].q': minimum (5) is greater than "
        "maximum (1)" in result.output
    )


@pytest.mark.parametrize("subject", ["..", "."])
def test_import_under_a_subject_that_is_no_directory_name_writes_nothing(
    tmp_path: Path, subject: str
) -> None:
    source = tmp_path / "s.json"
    source.write_text(json.dumps(_obj(STRING)))
    schemas = tmp_path / "repo" / "schemas"
    result = _run("schemas", "import", "--schemas-dir", str(schemas), "--from", "jsonschema",
                  "-s", subject, str(source))  # fmt: skip
    assert result.exit_code == 2, result.output
    assert f"subject {subject!r} is not a directory name under schemas/" in result.output
    assert list(tmp_path.rglob("*.yaml")) == []  # not schemas/../v1.yaml either
