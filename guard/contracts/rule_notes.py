"""What the derived checks (the Great Expectations suite, the pandera schema) say about the
contract's rules: CEL predicates across fields have no per-record GX expectation or pandera
column check that means the same, so both list them as enforced by the guard instead of
approximating them (one contract, never a second, subtly different rule set)."""

from __future__ import annotations

from typing import Any

from guard.contracts.spec import ContractSpec

ENFORCED_BY = "enforced by the guard"


def enforced_by_guard(spec: ContractSpec) -> list[dict[str, Any]]:
    """The version's rules, as metadata for a derived suite or schema."""
    return [
        {"rule": r.name, "expr": r.expr, "on_failure": r.on_failure, "check": ENFORCED_BY}
        for r in spec.rules
    ]
