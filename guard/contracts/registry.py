"""Load every contract under a schemas directory, check it, and compile it once.

Layout: `<schemas_dir>/<subject>/v<N>.yaml`. The directory name must equal the file's
`subject` and `N` its `version`, so a copied file that was not edited fails loudly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from guard.contracts.compile import FieldCompileError, compile_checker, compile_model
from guard.contracts.jsonschema import to_json_schema
from guard.contracts.rules import RuleCompileError, RuleSet, compile_rules
from guard.contracts.spec import ContractSpec
from guard.contracts.unknown import Shape
from guard.errors import ContractError

_FILE = re.compile(r"^v(\d+)\.ya?ml$")


@dataclass(frozen=True)
class Contract:
    """One compiled subject version."""

    spec: ContractSpec
    path: Path
    model: type[BaseModel]
    shape: Shape
    # The per-record check (the model's checks over plain dicts); raises ValidationError.
    check: Callable[[Any], Any]
    # The version's business rules (CEL), run after `check` passes.
    rules: RuleSet = field(default_factory=RuleSet)

    @property
    def subject(self) -> str:
        return self.spec.subject

    @property
    def version(self) -> int:
        return self.spec.version

    @property
    def retired(self) -> bool:
        return self.spec.status == "retired"

    @property
    def candidate(self) -> bool:
        """Shadow-evaluated beside the enforced versions, never enforced itself."""
        return self.spec.status == "candidate"

    @cached_property
    def json_schema(self) -> dict[str, Any]:
        return to_json_schema(self.spec, self.model)


@dataclass(frozen=True)
class Subject:
    name: str
    versions: dict[int, Contract] = field(default_factory=dict)

    @property
    def active(self) -> list[int]:
        """Enforced (`active`) versions, newest first: not retired, not candidates."""
        return sorted(
            (v for v, c in self.versions.items() if c.spec.status == "active"), reverse=True
        )

    @property
    def candidates(self) -> list[int]:
        """Versions in shadow rollout (`status: candidate`), newest first."""
        return sorted((v for v, c in self.versions.items() if c.candidate), reverse=True)

    @property
    def latest(self) -> int:
        active = self.active
        if not active:
            raise ContractError(
                f"subject {self.name}", "every version is retired (or a candidate: not enforced)"
            )
        return active[0]


@dataclass(frozen=True)
class Registry:
    root: Path
    subjects: dict[str, Subject]

    def subject(self, name: str) -> Subject:
        try:
            return self.subjects[name]
        except KeyError:
            known = ", ".join(sorted(self.subjects)) or "none"
            raise ContractError(
                self.root, f"no contracts for subject {name!r} (known: {known})"
            ) from None


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping. PyYAML keeps the last
    silently, so a second `fields:` or `rules:` block (a bad merge, a paste) would replace
    the first, and a second `minimum:` the first bound: checks dropped without a word."""


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` may be overridden
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:  # an unhashable key: construct_mapping says so itself
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
    return loader.construct_mapping(node, deep=deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def read_yaml(path: Path) -> Any:
    """A YAML file under schemas/, with read and syntax errors as ContractErrors naming it."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)  # a SafeLoader
    except OSError as exc:
        raise ContractError(path, f"cannot read: {exc.strerror}") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ContractError(path, f"not valid YAML: {exc}") from exc


def load_contract(path: Path) -> Contract:
    """Parse, check and compile one contract file; errors name the file and the field."""
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ContractError(path, "expected a mapping with subject, version and fields")
    try:
        spec = ContractSpec.model_validate(raw)
    except ValidationError as exc:
        raise _all_problems(path, exc) from None
    match = _FILE.match(path.name)
    if match is None:
        raise ContractError(path, "contract files must be named v<N>.yaml")
    if int(match.group(1)) != spec.version:
        raise ContractError(
            path, f"file name says version {match.group(1)}, file says {spec.version}"
        )
    if path.parent.name != spec.subject:
        raise ContractError(
            path, f"lives in {path.parent.name}/ but declares subject {spec.subject!r}"
        )
    try:
        model = compile_model(spec)
        check = compile_checker(spec)
    except FieldCompileError as exc:
        raise ContractError(path, exc.problem, field=exc.path) from exc
    except Exception as exc:  # any other schema-build failure is still a contract problem
        raise ContractError(path, f"cannot compile: {exc}") from exc
    try:
        rules = compile_rules(spec)
    except RuleCompileError as exc:
        raise ContractError(path, str(exc)) from None
    shape = Shape.of(spec.fields, spec.unknown_fields)
    return Contract(spec=spec, path=path, model=model, shape=shape, check=check, rules=rules)


def load_registry(root: Path | str) -> Registry:
    """Load every `<subject>/v<N>.yaml` under `root`."""
    root = Path(root)
    if not root.is_dir():
        raise ContractError(root, "schemas directory does not exist")
    subjects: dict[str, Subject] = {}
    for path in sorted(root.glob("*/v*.y*ml")):
        contract = load_contract(path)
        subj = subjects.setdefault(contract.subject, Subject(contract.subject))
        if contract.version in subj.versions:
            raise ContractError(path, f"version {contract.version} is defined twice")
        subj.versions[contract.version] = contract
    if not subjects:
        raise ContractError(root, "no contract files found (expected <subject>/v<N>.yaml)")
    return Registry(root=root, subjects=subjects)


def _all_problems(path: Path, exc: ValidationError) -> ContractError:
    """Every problem of the file at once, each naming its field and key, in our own words
    (pydantic's union-member tags such as `literal['allow']` or `float` are left out)."""
    merged: dict[tuple[str | None, str | None], list[str]] = {}
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not _is_type_tag(p))
        where = _describe_loc(loc)
        problem = str(err["msg"]).removeprefix("Value error, ")
        msgs = merged.setdefault(where, [])
        if problem not in msgs:
            msgs.append(problem)
    problems: list[tuple[str | None, str]] = []
    for (field_path, key), msgs in merged.items():
        text = msgs[0] + "".join(f", or {m.removeprefix('Input should be ')}" for m in msgs[1:])
        problems.append((field_path, f"{key}: {text}" if key else text))
    if len(problems) == 1:
        field_path, problem = problems[0]
        return ContractError(path, problem, field=field_path)
    lines = [f"field '{f}': {p}" if f else p for f, p in problems]
    return ContractError(path, f"{len(lines)} problems:\n  " + "\n  ".join(lines))


_TYPE_TAGS = {"int", "float", "str", "bool", "list", "dict", "none"}


def _is_type_tag(part: int | str) -> bool:
    return isinstance(part, str) and ("[" in part or part in _TYPE_TAGS)


def _describe_loc(loc: tuple[int | str, ...]) -> tuple[str | None, str | None]:
    """('fields','a','fields','b','minimum') -> ('a.b', 'minimum')."""
    parts: list[str] = []
    key: str | None = None
    i = 0
    while i < len(loc):
        item = loc[i]
        if item == "fields" and i + 1 < len(loc):
            parts.append(str(loc[i + 1]))
            i += 2
        elif item == "items":
            parts.append("[]")
            i += 1
        else:
            key = ".".join(str(x) for x in loc[i:])
            break
    field_path = ".".join(parts).replace(".[]", "[]") or None
    return field_path, key
