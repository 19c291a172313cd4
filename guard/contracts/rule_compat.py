"""Compatibility of contract rules (guard/contracts/compat.py asks this module).

A rule is a predicate no checker can compare with another in general, so the guard judges
rules by their text, conservatively: a reader accepts every record a writer accepts, as far
as rules go, only if each `quarantine` rule of the reader is also a `quarantine` rule of the
writer with the very same expression (names and messages do not matter). `warn` rules never
reject a record, so they never break anything. Hence:

- adding a quarantine rule, or turning a warn rule into one: breaks BACKWARD;
- removing a quarantine rule, or turning it into warn: breaks FORWARD;
- changing a quarantine rule's expression: breaks both (FULL);
- changing a message, renaming a rule, any change to a warn rule: breaks nothing.
"""

from __future__ import annotations

from guard.contracts.spec import ContractSpec

# (field, rule, reader side, writer side, why), as compat.Finding takes them.
RuleFinding = tuple[str, str, str, str, str]


def rule_findings(reader: ContractSpec, writer: ContractSpec) -> list[RuleFinding]:
    """Why the reader's rules may reject records the writer's contract accepts."""
    enforced_by_writer = {r.expr for r in writer.rules if r.on_failure == "quarantine"}
    written = {r.name: r for r in writer.rules}
    r, w = f"v{reader.version}", f"v{writer.version}"
    out: list[RuleFinding] = []
    for rule in reader.rules:
        if rule.on_failure != "quarantine" or rule.expr in enforced_by_writer:
            continue
        same = written.get(rule.name)
        if same is None:
            writer_side = "(no such rule)"
        elif same.on_failure == "warn" and same.expr == rule.expr:
            writer_side = "on_failure: warn"
        else:
            writer_side = f"expr: {same.expr}"
        out.append(
            (
                f"rule:{rule.name}",
                "rule",
                f"expr: {rule.expr}",
                writer_side,
                f"{r} quarantines records on which rule '{rule.name}' does not hold; "
                f"{w} does not enforce that expression",
            )
        )
    return out
