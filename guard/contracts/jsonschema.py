"""Export a compiled contract as JSON Schema (draft 2020-12), derived from the same model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guard.contracts.registry import Contract

_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def to_json_schema(contract: Contract) -> dict[str, Any]:
    schema = contract.model.model_json_schema(mode="validation")
    schema = {"$schema": _DRAFT, "$id": f"{contract.subject}/v{contract.version}", **schema}
    schema["title"] = f"{contract.subject} v{contract.version}"
    if contract.spec.description:
        schema["description"] = contract.spec.description
    return schema
