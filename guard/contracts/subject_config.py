"""Per-subject settings: `schemas/<subject>/subject.yaml`, beside the version files.

    compatibility: BACKWARD    # BACKWARD (default) | BACKWARD_TRANSITIVE | FORWARD |
                               # FORWARD_TRANSITIVE | FULL | FULL_TRANSITIVE | NONE
    schema_ids: {1: 101, 2: [102, 205]}   # Schema Registry ids per version (framed payloads)

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
    # version -> the Schema Registry id(s) of the schema producers register for it (one per
    # registry subject or format it is registered under)
    schema_ids: dict[int, int | list[int]] = Field(default_factory=dict)

    @field_validator("schema_ids")
    @classmethod
    def _one_version_per_id(cls, ids: dict[int, int | list[int]]) -> dict[int, int | list[int]]:
        seen: dict[int, int] = {}
        for version, pinned in ids.items():
            for schema_id in pinned if isinstance(pinned, list) else [pinned]:
                if seen.setdefault(schema_id, version) != version:
                    raise ValueError(
                        f"id {schema_id} is pinned to versions {seen[schema_id]} and {version}"
                    )
        return ids

    def version_by_id(self) -> dict[int, int]:
        return {
            schema_id: version
            for version, pinned in self.schema_ids.items()
            for schema_id in (pinned if isinstance(pinned, list) else [pinned])
        }


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
