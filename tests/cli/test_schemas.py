"""`guard schemas list` and `guard schemas export`."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from guard.cli.main import cli
from guard.contracts import load_registry
from tests.fixtures.paths import REPO

REPO_SCHEMAS = REPO / "schemas"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _two_subjects(tmp_path: Path) -> Path:
    root = tmp_path / "schemas"
    for subject, version, status in [("b", 1, "active"), ("a", 1, "retired"), ("a", 2, "active")]:
        path = root / subject / f"v{version}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"subject: {subject}\nversion: {version}\nstatus: {status}\n"
            "fields: {x: {type: string}}\n",
            encoding="utf-8",
        )
    return root


def test_list_shows_every_version_with_status_policy_and_path() -> None:
    result = _run("schemas", "list", "--schemas-dir", str(REPO_SCHEMAS))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"orders v1 active unknown_fields=reject {REPO_SCHEMAS / 'orders' / 'v1.yaml'}",
        f"orders v2 active (latest) unknown_fields=allow {REPO_SCHEMAS / 'orders' / 'v2.yaml'}",
    ]


def test_list_sorts_subjects_and_marks_retired_versions(tmp_path: Path) -> None:
    root = _two_subjects(tmp_path)
    lines = _run("schemas", "list", "--schemas-dir", str(root)).stdout.splitlines()
    assert [line.split(" unknown_fields")[0] for line in lines] == [
        "a v1 retired",
        "a v2 active (latest)",
        "b v1 active (latest)",
    ]


def test_list_with_a_broken_contract_exits_two(tmp_path: Path) -> None:
    path = tmp_path / "s" / "v1.yaml"
    path.parent.mkdir()
    path.write_text("subject: s\nversion: 1\nfields: {a: {type: integer, pattern: x}}\n")
    result = _run("schemas", "list", "--schemas-dir", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}: field 'a':")


def test_list_of_an_empty_dir_exits_two(tmp_path: Path) -> None:
    result = _run("schemas", "list", "--schemas-dir", str(tmp_path))
    assert result.exit_code == 2
    assert "no contract files found" in result.stderr


def test_export_of_one_version_prints_its_schema() -> None:
    result = _run(
        "schemas", "export", "--schemas-dir", str(REPO_SCHEMAS), "-s", "orders", "-v", "1"
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["$schema"] == DRAFT
    assert doc["$id"] == "orders/v1"
    assert doc == load_registry(REPO_SCHEMAS).subject("orders").versions[1].json_schema


def test_export_of_a_subject_prints_a_list_in_version_order() -> None:
    result = _run("schemas", "export", "--schemas-dir", str(REPO_SCHEMAS), "-s", "orders")
    docs = json.loads(result.stdout)
    assert [d["$id"] for d in docs] == ["orders/v1", "orders/v2"]


def test_export_of_everything_covers_every_subject(tmp_path: Path) -> None:
    result = _run("schemas", "export", "--schemas-dir", str(_two_subjects(tmp_path)))
    assert [d["$id"] for d in json.loads(result.stdout)] == ["a/v1", "a/v2", "b/v1"]


def test_export_to_out_dir_writes_one_file_per_version(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _run("schemas", "export", "--schemas-dir", str(REPO_SCHEMAS), "--out", str(out))
    assert result.exit_code == 0, result.output
    written = sorted(out.rglob("*.json"))
    assert written == [
        out / "orders" / "v1.schema.json",
        out / "orders" / "v2.schema.json",
    ]
    assert result.stdout.splitlines() == [str(p) for p in written]
    registry = load_registry(REPO_SCHEMAS)
    for version in (1, 2):
        text = (out / "orders" / f"v{version}.schema.json").read_text(encoding="utf-8")
        assert text.endswith("}\n")
        assert json.loads(text) == registry.subject("orders").versions[version].json_schema


def test_export_of_one_version_to_out_dir(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(
        "schemas",
        "export",
        "--schemas-dir",
        str(REPO_SCHEMAS),
        "-s",
        "orders",
        "-v",
        "2",
        "--out",
        str(out),
    )
    assert sorted(p.name for p in out.rglob("*.json")) == ["v2.schema.json"]


def test_export_version_without_subject_is_a_usage_error() -> None:
    result = _run("schemas", "export", "--schemas-dir", str(REPO_SCHEMAS), "-v", "1")
    assert result.exit_code == 2
    assert "--version needs --subject" in result.output


def test_export_of_a_missing_version_is_a_usage_error() -> None:
    result = _run(
        "schemas", "export", "--schemas-dir", str(REPO_SCHEMAS), "-s", "orders", "-v", "9"
    )
    assert result.exit_code == 2
    assert "subject 'orders' has no version 9" in result.output


def test_export_of_an_unknown_subject_exits_two() -> None:
    result = _run("schemas", "export", "--schemas-dir", str(REPO_SCHEMAS), "-s", "payments")
    assert result.exit_code == 2
    assert "no contracts for subject 'payments'" in result.stderr


def test_version_option_prints_the_version() -> None:
    from guard._version import __version__

    result = _run("--version")
    assert result.exit_code == 0
    assert __version__ in result.stdout


def test_export_as_avro_prints_a_schema_fastavro_accepts() -> None:
    import fastavro

    result = _run(
        "schemas",
        "export",
        "--schemas-dir",
        str(REPO_SCHEMAS),
        "-s",
        "orders",
        "-v",
        "2",
        "--format",
        "avro",
    )
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    fastavro.parse_schema(schema)
    fields = {f["name"]: f["type"] for f in schema["fields"]}
    assert fields["created_at"] == {"type": "long", "logicalType": "timestamp-micros"}
    assert fields["coupon"] == ["null", "string"]  # nullable and optional: a union with null
    assert fields["currency"]["type"] == "enum"
    assert fields["currency"]["symbols"] == ["EUR", "USD", "GBP", "CHF"]
    assert fields["shipping"][1]["type"] == "record"  # an optional nested object
    assert fields["items"][1]["type"] == "array"


def test_export_as_avro_to_out_dir_writes_avsc_files(tmp_path: Path) -> None:
    out = tmp_path / "avro"
    result = _run(
        "schemas",
        "export",
        "--schemas-dir",
        str(REPO_SCHEMAS),
        "--format",
        "avro",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "orders").iterdir()) == ["v1.avsc", "v2.avsc"]


def test_avro_export_of_a_field_name_avro_refuses_exits_two_naming_the_field(
    tmp_path: Path,
) -> None:
    # '-' is allowed in a contract's field names, not in Avro's: Avro's Java parser (what a
    # Schema Registry runs) refuses `"name": "line-no"` with "Illegal character in: line-no".
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "v1.yaml").write_text(
        "subject: ev\nversion: 1\nfields:\n  id: {type: string}\n"
        "  lines:\n    type: array\n    items:\n      type: object\n"
        "      fields: {line-no: {type: integer}}\n"
    )
    result = _run("schemas", "export", "--schemas-dir", str(tmp_path), "--format", "avro")
    assert result.exit_code == 2, result.output
    assert "field 'lines[].line-no': not an Avro name" in result.output
    json_schema = _run("schemas", "export", "--schemas-dir", str(tmp_path))
    assert json_schema.exit_code == 0, json_schema.output  # JSON Schema has no such limit
