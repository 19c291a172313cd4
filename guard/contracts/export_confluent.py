"""`guard schemas export --format confluent`: what a Schema Registry accepts on
`POST /subjects/<s>/versions`: the JSON Schema, and the rules as a `ruleSet` of CEL
CONDITION rules (`message` is what Confluent's rule executor calls the record; a
`quarantine` rule fails to the DLQ, a `warn` rule does nothing)."""

from __future__ import annotations

import json
from typing import Any

from guard.contracts.importers.cel_names import to_confluent
from guard.contracts.registry import Contract


def to_confluent_schema(contract: Contract) -> dict[str, Any]:
    out: dict[str, Any] = {"schemaType": "JSON", "schema": json.dumps(contract.json_schema)}
    rules = [
        {
            "name": r.name,
            "kind": "CONDITION",
            "mode": "WRITE",
            "type": "CEL",
            "expr": to_confluent(r.expr),
            **({"doc": r.message} if r.message else {}),
            "onFailure": "DLQ" if r.on_failure == "quarantine" else "NONE",
        }
        for r in contract.spec.rules
    ]
    if rules:
        out["ruleSet"] = {"domainRules": rules}
    return out
