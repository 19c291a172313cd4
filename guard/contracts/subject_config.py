"""Per-subject settings: `schemas/<subject>/subject.yaml`, beside the version files.

    compatibility: BACKWARD    # BACKWARD (default) | BACKWARD_TRANSITIVE | FORWARD |
                               # FORWARD_TRANSITIVE | FULL | FULL_TRANSITIVE | NONE
    schema_ids: {1: 101, 2: 102}   # Schema Registry ids pinned per version (framed payloads)

The registry loads only `v<N>.yaml` files, so this file is read here, on demand, by the
commands that need it (`guard schemas check`, `guard schemas suggest`, and routes whose
payloads carry Schema Registry framing). A missing file means
the defaults, as in Schema Registry, whose default compatibility mode is BACKWARD.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from guard.compat_modes import DEFAULT_MODE, MODES, Mode
from guard.contracts.registry import read_yaml
from guard.errors import ContractError

FILE_NAME = "subject.yaml"


class SubjectConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    compatibility: Mode = DEFAULT_MODE
    # version -> Schema Registry id of the schema producers register for it
    schema_ids: dict[int, int] = Field(default_factory=dict)

    @field_validator("schema_ids")
    @classmethod
    def _one_version_per_id(cls, ids: dict[int, int]) -> dict[int, int]:
        seen: dict[int, int] = {}
        for version, schema_id in ids.items():
            if schema_id in seen:
                raise ValueError(
                    f"id {schema_id} is pinned to versions {seen[schema_id]} and {version}"
                )
            seen[schema_id] = version
        return ids


def load_subject_config(schemas_dir: Path, subject: str) -> SubjectConfig:
    """The settings of one subject; defaults when it has no `subject.yaml`."""
    path = schemas_dir / subject / FILE_NAME
    if not path.is_file():
        return SubjectConfig()
    raw = read_yaml(path)
    if raw is None:
        return SubjectConfig()
    if not isinstance(raw, dict):
        raise ContractError(path, "expected a mapping, e.g. 'compatibility: BACKWARD'")
    if isinstance(raw.get("compatibility"), str):
        raw = {**raw, "compatibility": raw["compatibility"].upper()}
    try:
        return SubjectConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        key = ".".join(str(x) for x in err["loc"]) or "(file)"
        if err["type"] == "literal_error":
            problem = f"{key}: must be one of {', '.join(MODES)}"
        else:
            problem = f"{key}: {err['msg']}"
        raise ContractError(path, problem) from None
