"""Loading contract files: errors name the file, the field and the problem."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from guard.contracts import load_contract, load_registry
from guard.errors import ContractError, GuardError
from tests.fixtures.paths import REPO

REPO_SCHEMAS = REPO / "schemas"


def _write(root: Path, subject: str, name: str, text: str) -> Path:
    path = root / subject / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _contract(
    root: Path, fields: str, *, subject: str = "s", version: int = 1, name: str | None = None
) -> Path:
    body = f"subject: {subject}\nversion: {version}\nfields:\n" + textwrap.indent(
        textwrap.dedent(fields), "  "
    )
    return _write(root, "s", name or f"v{version}.yaml", body)


def _load_error(path: Path) -> ContractError:
    with pytest.raises(ContractError) as info:
        load_contract(path)
    return info.value


# --- the repository's own contracts -----------------------------------------------------------


def test_repo_contracts_load_with_both_versions() -> None:
    registry = load_registry(REPO_SCHEMAS)
    orders = registry.subject("orders")
    assert sorted(orders.versions) == [1, 2]
    assert orders.active == [2, 1]
    assert orders.latest == 2


def test_loaded_contract_keeps_its_path_and_spec() -> None:
    contract = load_registry(REPO_SCHEMAS).subject("orders").versions[1]
    assert contract.path == REPO_SCHEMAS / "orders" / "v1.yaml"
    assert contract.subject == "orders"
    assert contract.version == 1
    assert contract.spec.unknown_fields == "reject"
    assert not contract.retired


def test_registry_accepts_a_string_root(tmp_path: Path) -> None:
    _contract(tmp_path, "a: {type: string}\n")
    assert list(load_registry(str(tmp_path)).subjects) == ["s"]


def test_yml_extension_is_loaded(tmp_path: Path) -> None:
    _contract(tmp_path, "a: {type: string}\n", name="v1.yml")
    assert 1 in load_registry(tmp_path).subject("s").versions


# --- retired versions --------------------------------------------------------------------------


def test_retired_version_is_not_active_and_not_latest(tmp_path: Path) -> None:
    _write(tmp_path, "s", "v1.yaml", "subject: s\nversion: 1\nfields: {a: {type: string}}\n")
    _write(
        tmp_path,
        "s",
        "v2.yaml",
        "subject: s\nversion: 2\nstatus: retired\nfields: {a: {type: string}}\n",
    )
    subject = load_registry(tmp_path).subject("s")
    assert subject.versions[2].retired
    assert subject.active == [1]
    assert subject.latest == 1


def test_subject_with_every_version_retired_has_no_latest(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "s",
        "v1.yaml",
        "subject: s\nversion: 1\nstatus: retired\nfields: {a: {type: string}}\n",
    )
    subject = load_registry(tmp_path).subject("s")
    with pytest.raises(ContractError, match="every version is retired"):
        _ = subject.latest


# --- field-level problems name the file, the field and the problem --------------------------


def test_wrong_type_name_names_file_field_and_key(tmp_path: Path) -> None:
    path = _contract(tmp_path, "amount: {type: decimal}\n")
    err = _load_error(path)
    assert err.path == str(path)
    assert err.field == "amount"
    assert err.problem.startswith("type:")
    assert str(err).startswith(f"{path}: field 'amount': type:")


def test_pattern_on_integer_names_the_field(tmp_path: Path) -> None:
    path = _contract(tmp_path, "qty: {type: integer, pattern: '^[0-9]+$'}\n")
    err = _load_error(path)
    assert (err.path, err.field) == (str(path), "qty")
    assert "pattern" in err.problem
    assert "not integer" in err.problem


def test_minimum_above_maximum_names_the_field(tmp_path: Path) -> None:
    path = _contract(tmp_path, "qty: {type: integer, minimum: 10, maximum: 1}\n")
    err = _load_error(path)
    assert err.field == "qty"
    assert err.problem == "minimum (10) is greater than maximum (1)"
    assert str(err) == f"{path}: field 'qty': minimum (10) is greater than maximum (1)"


def test_invalid_regex_names_the_field(tmp_path: Path) -> None:
    path = _contract(tmp_path, "code: {type: string, pattern: '([A-Z'}\n")
    err = _load_error(path)
    assert err.field == "code"
    assert err.problem.startswith("pattern is not a valid regular expression")


def test_enum_of_wrong_type_names_the_field(tmp_path: Path) -> None:
    path = _contract(tmp_path, "qty: {type: integer, enum: [one, two]}\n")
    err = _load_error(path)
    assert err.field == "qty"
    assert err.problem == "enum values ['one', 'two'] are not of type integer"


def test_an_enum_value_that_can_never_pass_names_the_field_and_value(tmp_path: Path) -> None:
    path = _contract(tmp_path, "qty: {type: integer, enum: [1, 5, 50], maximum: 10}\n")
    err = _load_error(path)
    assert err.field == "qty"
    assert err.problem == "enum value 50 can never pass: above maximum (10)"


def test_object_without_fields_names_the_field(tmp_path: Path) -> None:
    path = _contract(tmp_path, "shipping: {type: object}\n")
    err = _load_error(path)
    assert err.field == "shipping"
    assert "needs a non-empty 'fields' mapping" in err.problem


def test_array_without_items_names_the_field(tmp_path: Path) -> None:
    path = _contract(tmp_path, "tags: {type: array}\n")
    err = _load_error(path)
    assert err.field == "tags"
    assert "needs an 'items' spec" in err.problem


def test_unknown_key_in_field_spec_names_field_and_key(tmp_path: Path) -> None:
    path = _contract(tmp_path, "name: {type: string, maxlength: 3}\n")
    err = _load_error(path)
    assert err.field == "name"
    assert err.problem.startswith("maxlength:")
    assert "not permitted" in err.problem


def test_problem_in_nested_array_item_names_the_dotted_path(tmp_path: Path) -> None:
    path = _contract(
        tmp_path,
        """\
        order:
          type: object
          fields:
            lines:
              type: array
              items:
                type: object
                fields:
                  qty: {type: integer, minimum: 3, maximum: 1}
        """,
    )
    err = _load_error(path)
    assert err.field == "order.lines[].qty"
    assert "minimum (3) is greater than maximum (1)" in err.problem


def test_every_problem_of_a_file_is_reported_at_once_naming_its_field(tmp_path: Path) -> None:
    path = _contract(tmp_path, "a: {type: str}\nb: {type: integer, minimum: x}\nc: {bogus: 1}\n")
    problem = _load_error(path).problem
    assert problem.startswith("4 problems:")
    assert "field 'a': type: Input should be 'string'" in problem
    assert "field 'b': minimum: Input should be a valid number" in problem
    assert "minimum.int" not in problem and "minimum.float" not in problem
    assert "field 'c': bogus: Extra inputs are not permitted" in problem
    assert "field 'c': type:" in problem


def test_fractional_minimum_on_integer_names_the_field(tmp_path: Path) -> None:
    """A bound the integer validator cannot use is still reported against its field."""
    path = _contract(tmp_path, "qty: {type: integer, minimum: 1.5}\n")
    err = _load_error(path)
    assert err.path == str(path)
    assert err.field == "qty"


# --- file-level problems -----------------------------------------------------------------------


def test_unknown_top_level_key_is_named(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "s", "v1.yaml", "subject: s\nversion: 1\nowner: me\nfields: {a: {type: string}}\n"
    )
    err = _load_error(path)
    assert err.field is None
    assert err.problem.startswith("owner:")


def test_file_name_version_mismatch_is_rejected(tmp_path: Path) -> None:
    path = _contract(tmp_path, "a: {type: string}\n", version=1, name="v2.yaml")
    err = _load_error(path)
    assert err.path == str(path)
    assert err.problem == "file name says version 2, file says 1"


def test_subject_directory_mismatch_is_rejected(tmp_path: Path) -> None:
    path = _contract(tmp_path, "a: {type: string}\n", subject="payments")
    err = _load_error(path)
    assert err.path == str(path)
    assert err.problem == "lives in s/ but declares subject 'payments'"


def test_file_not_named_v_number_is_rejected(tmp_path: Path) -> None:
    path = _contract(tmp_path, "a: {type: string}\n", name="vnext.yaml")
    err = _load_error(path)
    assert "must be named v<N>.yaml" in err.problem


def test_duplicate_version_in_yaml_and_yml_is_rejected(tmp_path: Path) -> None:
    _contract(tmp_path, "a: {type: string}\n", name="v1.yaml")
    second = _contract(tmp_path, "a: {type: string}\n", name="v1.yml")
    with pytest.raises(ContractError) as info:
        load_registry(tmp_path)
    assert info.value.path == str(second)
    assert info.value.problem == "version 1 is defined twice"


def test_invalid_yaml_is_reported_with_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "s", "v1.yaml", "subject: s\nversion: [1\nfields: {\n")
    err = _load_error(path)
    assert err.path == str(path)
    assert err.problem.startswith("not valid YAML")


@pytest.mark.parametrize(
    "text",
    [
        # A second `fields:` replaced the first, dropping `minimum: 0` without a word.
        "fields:\n  a: {type: number, minimum: 0}\nfields:\n  a: {type: number}\n",
        "fields:\n  a: {type: number, minimum: 0, minimum: -5}\n",
        "fields: {a: {type: number}}\nrules: [{name: p, expr: 'record.a > 0.0'}]\nrules: []\n",
    ],
)
def test_a_key_written_twice_is_refused_not_silently_replaced(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, "s", "v1.yaml", "subject: s\nversion: 1\n" + text)
    err = _load_error(path)
    assert err.problem.startswith("not valid YAML")
    assert "found duplicate key" in err.problem


def test_a_merge_key_may_be_overridden(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "s",
        "v1.yaml",
        """\
        subject: s
        version: 1
        fields:
          a: &base {type: string, max_length: 5}
          b:
            <<: *base
            max_length: 9
        """,
    )
    assert load_contract(path).spec.fields["b"].max_length == 9


def test_non_utf8_file_is_reported_as_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "s" / "v1.yaml"
    path.parent.mkdir()
    path.write_bytes(
        b"subject: s\nversion: 1\ndescription: \xff\xfe\nfields: {a: {type: string}}\n"
    )
    err = _load_error(path)
    assert err.problem.startswith("not valid YAML")


@pytest.mark.parametrize("text", ["- subject: s\n- version: 1\n", "just a string\n", ""])
def test_non_mapping_top_level_is_rejected(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, "s", "v1.yaml", text)
    err = _load_error(path)
    assert err.path == str(path)
    assert err.problem == "expected a mapping with subject, version and fields"


def test_missing_file_is_a_contract_error(tmp_path: Path) -> None:
    err = _load_error(tmp_path / "s" / "v1.yaml")
    assert err.problem.startswith("cannot read")


def test_empty_directory_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ContractError) as info:
        load_registry(tmp_path)
    assert info.value.path == str(tmp_path)
    assert "no contract files found" in info.value.problem


def test_missing_directory_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="schemas directory does not exist"):
        load_registry(tmp_path / "nope")


def test_one_broken_contract_fails_the_whole_registry(tmp_path: Path) -> None:
    _contract(tmp_path, "a: {type: string}\n", version=1)
    broken = _contract(tmp_path, "a: {type: strin}\n", version=2)
    with pytest.raises(ContractError) as info:
        load_registry(tmp_path)
    assert info.value.path == str(broken)


def test_unknown_subject_lists_the_known_ones(tmp_path: Path) -> None:
    _contract(tmp_path, "a: {type: string}\n")
    with pytest.raises(ContractError, match=r"no contracts for subject 'payments' \(known: s\)"):
        load_registry(tmp_path).subject("payments")


def test_contract_error_is_a_guard_error() -> None:
    assert issubclass(ContractError, GuardError)


def test_any_json_field_name_compiles_and_validates(tmp_path: Path) -> None:
    """`_id`, `model_config` or `schema` are ordinary field names in a contract."""
    from guard.validation import RecordValidator

    path = tmp_path / "cdc" / "v1.yaml"
    path.parent.mkdir()
    path.write_text(
        "subject: cdc\nversion: 1\nfields:\n  _id: {type: string}\n"
        "  model_config: {type: integer}\n  schema: {type: string, required: false}\n"
    )
    validator = RecordValidator(load_registry(tmp_path).subject("cdc"))
    assert validator.validate(b'{"_id": "a", "model_config": 1, "schema": "s"}').ok
    bad = validator.validate(b'{"_id": 1}')
    assert {(e.path, e.code.value) for e in bad.errors} == {
        ("_id", "wrong_type"),
        ("model_config", "missing_field"),
    }


def test_a_pattern_the_validator_engine_rejects_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "s" / "v1.yaml"
    path.parent.mkdir()
    path.write_text(
        "subject: s\nversion: 1\nfields:\n  code: {type: string, pattern: '^(?=a)a$'}\n"
    )
    with pytest.raises(ContractError) as info:
        load_registry(tmp_path)
    assert info.value.field == "code" and "v1.yaml" in str(info.value)


def test_a_whole_float_bound_on_an_integer_field_compiles(tmp_path: Path) -> None:
    from guard.validation import RecordValidator

    path = tmp_path / "s" / "v1.yaml"
    path.parent.mkdir()
    path.write_text("subject: s\nversion: 1\nfields:\n  n: {type: integer, maximum: 1.0e20}\n")
    validator = RecordValidator(load_registry(tmp_path).subject("s"))
    assert validator.validate(b'{"n": 5}').ok
