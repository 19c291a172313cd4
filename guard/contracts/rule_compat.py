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

"The very same expression" includes what it reads: a field the expression selects that is an
`integer` in one version and a `number` in the other is an int to CEL in one and a double in
the other (`record.qty % 2 == 0` has no `%` for doubles), so the rule counts as changed.
"""

from __future__ import annotations

from guard.contracts.rule_refs import RuleRefError, field_at, scan
from guard.contracts.spec import ContractSpec, FieldSpec

# (field, rule, reader side, writer side, why), as compat.Finding takes them.
RuleFinding = tuple[str, str, str, str, str]


def rule_findings(reader: ContractSpec, writer: ContractSpec) -> list[RuleFinding]:
    """Why the reader's rules may reject records the writer's contract accepts."""
    enforced_by_writer = {r.expr for r in writer.rules if r.on_failure == "quarantine"}
    written = {r.name: r for r in writer.rules}
    r, w = f"v{reader.version}", f"v{writer.version}"
    out: list[RuleFinding] = []
    for rule in reader.rules:
        if rule.on_failure != "quarantine":
            continue
        if rule.expr in enforced_by_writer:
            retyped = _retyped(rule.expr, reader, writer)
            if retyped is None:
                continue
            out.append(
                (
                    f"rule:{rule.name}",
                    "rule",
                    f"expr: {rule.expr} ({retyped} {_numeric(reader, retyped)})",
                    f"expr: {rule.expr} ({retyped} {_numeric(writer, retyped)})",
                    f"rule '{rule.name}' reads '{retyped}', an int to CEL in one version and "
                    f"a double in the other: {r} may not hold it on records {w} accepts",
                )
            )
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


def _retyped(expr: str, reader: ContractSpec, writer: ContractSpec) -> str | None:
    """The first field `expr` reads (a selected path or anything inside it; every field when
    it reads the record whole) that is an integer in one version and a number in the other."""
    try:
        r_refs, w_refs = scan(expr, reader.fields), scan(expr, writer.fields)
    except RuleRefError:  # does not compile against one side: not the same rule at all
        return "(record)"
    whole = r_refs.whole_record or w_refs.whole_record
    roots = [(n,) for n in reader.fields] if whole else sorted(set(r_refs.paths))
    for path in roots:
        r_kinds = _kinds(field_at(reader.fields, path), ".".join(path))
        w_kinds = _kinds(field_at(writer.fields, path), ".".join(path))
        for name in sorted(r_kinds.keys() & w_kinds.keys()):
            if r_kinds[name] != w_kinds[name]:
                return name
    return None


def _kinds(fs: FieldSpec | None, path: str) -> dict[str, str]:
    """`integer` / `number` for `fs` and every field inside it, by dotted path."""
    if fs is None:
        return {}
    if fs.type in {"integer", "number"}:
        return {path: fs.type}
    if fs.type == "array" and fs.items is not None:
        return _kinds(fs.items, f"{path}[]")
    out: dict[str, str] = {}
    for name, sub in (fs.fields or {}).items():
        out.update(_kinds(sub, f"{path}.{name}"))
    return out


def _numeric(spec: ContractSpec, path: str) -> str:
    for name, fs in spec.fields.items():
        found = _kinds(fs, name).get(path)
        if found is not None:
            return found
    return "?"
