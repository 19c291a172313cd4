"""Finding and stripping undeclared fields with a contract's Shape."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from guard.contracts.spec import ContractSpec
from guard.contracts.unknown import ArrayOf, Shape


def _shape(fields: dict[str, Any], policy: str = "reject") -> Shape:
    spec = ContractSpec.model_validate(
        {"subject": "s", "version": 1, "unknown_fields": policy, "fields": fields}
    )
    return Shape.of(spec.fields, spec.unknown_fields)


NESTED: dict[str, Any] = {
    "id": {"type": "integer"},
    "shipping": {"type": "object", "fields": {"country": {"type": "string"}}},
    "items": {
        "type": "array",
        "items": {"type": "object", "fields": {"sku": {"type": "string"}}},
    },
    "tags": {"type": "array", "items": {"type": "string"}},
}


def test_shape_knows_top_level_names_and_nested_shapes() -> None:
    shape = _shape(NESTED)
    assert shape.known == {"id", "shipping", "items", "tags"}
    assert set(shape.children) == {"shipping", "items"}  # tags hold no objects
    shipping, items = shape.children["shipping"], shape.children["items"]
    assert isinstance(shipping, Shape) and shipping.known == {"country"}
    assert isinstance(items, ArrayOf) and isinstance(items.item, Shape)


def test_unknown_paths_are_dotted_and_sorted() -> None:
    shape = _shape(NESTED, "allow")
    record = {
        "id": 1,
        "zeta": 1,
        "alpha": 2,
        "shipping": {"country": "DE", "x": 1},
        "items": [{"sku": "a", "y": 1}, {"sku": "b", "y": 2, "z": 3}],
    }
    assert shape.unknown_paths(record) == ["alpha", "items[].y", "items[].z", "shipping.x", "zeta"]


def test_unknown_paths_of_a_clean_record_are_empty() -> None:
    assert _shape(NESTED).unknown_paths({"id": 1, "shipping": {"country": "DE"}}) == []


def test_unknown_paths_ignore_non_object_values_where_objects_are_declared() -> None:
    shape = _shape(NESTED, "allow")
    assert shape.unknown_paths({"shipping": "DE", "items": ["a", None, {"q": 1}]}) == ["items[].q"]


def test_strips_is_false_when_no_level_strips() -> None:
    assert not _shape(NESTED, "allow").strips


def test_strips_is_true_when_only_a_nested_level_strips() -> None:
    fields = dict(NESTED)
    fields["shipping"] = {
        "type": "object",
        "unknown_fields": "strip",
        "fields": {"country": {"type": "string"}},
    }
    assert _shape(fields, "allow").strips


def test_strips_is_true_when_only_array_items_strip() -> None:
    fields = dict(NESTED)
    fields["items"] = {
        "type": "array",
        "items": {
            "type": "object",
            "unknown_fields": "strip",
            "fields": {"sku": {"type": "string"}},
        },
    }
    assert _shape(fields, "reject").strips


def test_strip_removes_unknown_keys_at_every_stripping_level() -> None:
    shape = _shape(NESTED, "strip")
    record = {
        "id": 1,
        "extra": {"deep": 1},
        "shipping": {"country": "DE", "x": 1},
        "items": [{"sku": "a", "y": 1}, "not-an-object"],
        "tags": ["t"],
    }
    assert shape.strip(record) == {
        "id": 1,
        "shipping": {"country": "DE"},
        "items": [{"sku": "a"}, "not-an-object"],
        "tags": ["t"],
    }


def test_strip_leaves_the_input_untouched() -> None:
    shape = _shape(NESTED, "strip")
    record = {"id": 1, "extra": 1, "shipping": {"country": "DE", "x": 1}}
    shape.strip(record)
    assert record == {"id": 1, "extra": 1, "shipping": {"country": "DE", "x": 1}}


def test_strip_keeps_unknown_keys_at_an_allow_level() -> None:
    fields = dict(NESTED)
    fields["shipping"] = {
        "type": "object",
        "unknown_fields": "allow",
        "fields": {"country": {"type": "string"}},
    }
    shape = _shape(fields, "strip")
    stripped = shape.strip({"id": 1, "top": 1, "shipping": {"country": "DE", "x": 1}})
    assert stripped == {"id": 1, "shipping": {"country": "DE", "x": 1}}


def test_strip_only_at_a_nested_level_keeps_top_level_unknowns() -> None:
    fields = dict(NESTED)
    fields["shipping"] = {
        "type": "object",
        "unknown_fields": "strip",
        "fields": {"country": {"type": "string"}},
    }
    shape = _shape(fields, "allow")
    stripped = shape.strip({"id": 1, "top": 1, "shipping": {"country": "DE", "x": 1}})
    assert stripped == {"id": 1, "top": 1, "shipping": {"country": "DE"}}


def test_nested_shape_inherits_the_parent_policy() -> None:
    shape = _shape(NESTED, "strip")
    shipping, items = shape.children["shipping"], shape.children["items"]
    assert isinstance(shipping, Shape) and shipping.policy == "strip"
    assert (
        isinstance(items, ArrayOf)
        and isinstance(items.item, Shape)
        and items.item.policy == "strip"
    )


def test_strip_removes_unknown_keys_inside_arrays_of_arrays() -> None:
    from guard.contracts.spec import FieldSpec
    from guard.contracts.unknown import Shape

    spec = {
        "m": FieldSpec.model_validate(
            {
                "type": "array",
                "items": {
                    "type": "array",
                    "items": {"type": "object", "fields": {"x": {"type": "integer"}}},
                },
            }
        )
    }
    shape = Shape.of(spec, "strip")
    record = {"m": [[{"x": 1, "secret": "s"}], [{"x": 2}]]}
    assert shape.unknown_paths(record) == ["m[][].secret"]
    assert shape.strip(record) == {"m": [[{"x": 1}], [{"x": 2}]]}


MATRIX: dict[str, Any] = {
    **NESTED,
    "matrix": {
        "type": "array",
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "fields": {
                    "y": {"type": "integer"},
                    "at": {"type": "object", "fields": {"z": {"type": "integer"}}},
                },
            },
        },
    },
}
_KEYS = st.sampled_from(["id", "shipping", "items", "tags", "matrix", "country", "sku", "y",
                         "at", "z", "extra"])  # fmt: skip
_JSON = st.recursive(
    st.none() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(_KEYS, _JSON, max_size=6))
def test_the_quick_all_declared_test_agrees_with_the_full_walk(record: dict[str, Any]) -> None:
    shape = _shape(MATRIX, "allow")
    assert shape.declares_all(record) == (shape.walk(record) == [])
    assert shape.unknown_paths(record) == shape.walk(record)
