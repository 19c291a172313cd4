"""Export a compiled contract as JSON Schema (draft 2020-12), derived from the same model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from guard.contracts.spec import ContractSpec

_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def to_json_schema(spec: ContractSpec, model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of one contract version: `model` is its compiled pydantic model."""
    schema = model.model_json_schema(mode="validation")
    schema = {"$schema": _DRAFT, "$id": f"{spec.subject}/v{spec.version}", **schema}
    schema["title"] = f"{spec.subject} v{spec.version}"
    if spec.description:
        schema["description"] = spec.description
    return schema
