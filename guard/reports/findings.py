"""What a drift report finds, as data: the rows and the suggested fix that drift.py builds
and the renderers, plots, fix and GX corroboration read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from guard.contracts.compat import Break
from guard.contracts.spec import FieldSpec
from guard.contracts.suggest import Proposal
from guard.monitoring.drift import FieldVerdict
from guard.monitoring.field_profile import FieldProfile
from guard.reports.gx_suite import GxResult


@dataclass(frozen=True)
class Undeclared:
    """A field the contract does not declare, seen in the data."""

    field: str
    policy: str  # the unknown_fields policy where it was found
    baseline_share: float
    current_share: float
    state: str  # the engine's verdict: drift (new or vanished), ok

    @property
    def new(self) -> bool:
        return self.current_share > 0 and self.baseline_share == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "policy": self.policy,
            "baseline_share": round(self.baseline_share, 6),
            "current_share": round(self.current_share, 6),
            "new": self.new,
            "state": self.state,
        }


@dataclass(frozen=True)
class SuggestedFix:
    """The next contract version the current data asks for, and what was not applied.

    `version`, `yaml` and `diff` are None when no version can be suggested: no change can
    be applied, or every candidate breaks the subject's mode (`why` says which)."""

    version: int | None
    yaml: str | None
    diff: str | None
    proposals: list[Proposal]
    breaks: list[Break]
    mode: str
    why: str | None = None

    @property
    def not_applied(self) -> list[Proposal]:
        return [p for p in self.proposals if not p.applied]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "contract": self.yaml,
            "diff": self.diff,
            "why_none": self.why,
            "proposals": [p.to_json() for p in self.proposals],
            "compatibility_mode": self.mode,
            "compatibility_breaks": [b.to_json() for b in self.breaks],
        }


@dataclass
class FieldRow:
    """One declared field: the engine's verdict, both sides' profiles, corroboration."""

    path: str
    spec: FieldSpec
    verdict: FieldVerdict
    baseline: FieldProfile
    current: FieldProfile
    contract_records: int  # current records the guard rejects with an error on this field
    n_baseline: int  # records profiled on each side (the fields' population)
    n_current: int
    gx: list[GxResult] = field(default_factory=list)

    @property
    def status(self) -> str:
        """The engine's state (drift, insufficient data, ok), or 'contract' when an ok
        field's records break the contract."""
        if self.verdict.state == "ok" and self.contract_records:
            return "contract"
        return self.verdict.state
