"""What the importers share: the refusal, and turning a built contract into a checked file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from guard.contracts.rules import RuleCompileError, compile_rules
from guard.contracts.spec import INT64_MAX, INT64_MIN, ContractSpec
from guard.errors import InputError


class ImportRefused(InputError):
    """Something in the source has no contract equivalent; `pointer` is where (JSON Pointer)."""

    def __init__(self, source: str, pointer: str, problem: str) -> None:
        self.source, self.pointer, self.problem = source, pointer, problem
        super().__init__(f"{source}: {pointer or '/'}: {problem}")


def pointer(base: str, *parts: str | int) -> str:
    """`base` extended by JSON Pointer tokens (~ and / escaped)."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return base + "".join("/" + p for p in escaped)


def checked(source: str, doc: dict[str, Any]) -> ContractSpec:
    """The imported contract, validated and with its rules compiled (as `guard schemas check`
    would); a problem is refused naming the source."""
    try:
        spec = ContractSpec.model_validate(doc)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = _field_path(error["loc"])
        where = f"field '{field}': " if field else ""
        problem = str(error["msg"]).removeprefix("Value error, ")
        raise ImportRefused(source, "", f"not a valid contract: {where}{problem}") from None
    try:
        compile_rules(spec)
    except RuleCompileError as exc:
        raise ImportRefused(source, f"/ruleSet (rule {exc.rule})", str(exc)) from None
    return spec


def _field_path(loc: tuple[int | str, ...]) -> str:
    """The contract field a validation error is about ('o.a', 'lines[]'), or '' for the
    contract itself: a large source schema needs more than the problem to find it."""
    path = ""
    parts = list(loc)
    while len(parts) >= 2 and parts[0] == "fields":
        path += ("." if path else "") + str(parts[1])
        parts = parts[2:]
        while parts and parts[0] == "items":
            path += "[]"
            parts = parts[1:]
    return path


def write_contract(schemas_dir: Path, spec: ContractSpec) -> Path:
    """schemas/<subject>/v<N>.yaml, refusing to overwrite an existing version."""
    path = schemas_dir / spec.subject / f"v{spec.version}.yaml"
    if path.exists():
        raise InputError(f"{path} exists: choose another --version")
    path.parent.mkdir(parents=True, exist_ok=True)
    data = spec.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
    data = {"subject": spec.subject, "version": spec.version, **data}
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def is_default_int_bound(value: object, bound: int) -> bool:
    return isinstance(value, int) and value == bound and bound in (INT64_MIN, INT64_MAX)
