"""The report's suggested fix: the same proposal `guard schemas suggest` makes, by the same
rule (a version that passes the subject's compatibility mode, or why there is none)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from guard.contracts.diff import diff_specs, render_diff
from guard.contracts.next_version import propose_next
from guard.contracts.registry import Registry
from guard.contracts.suggest import to_yaml
from guard.reports.findings import SuggestedFix
from guard.reports.profiles import decoded


def suggest_fix(
    registry: Registry, schemas_dir: Path, subject: str, current_paths: Sequence[str]
) -> SuggestedFix | None:
    """None when the current records need no contract change at all."""
    proposal = propose_next(registry.subject(subject), schemas_dir, decoded(current_paths))
    latest, result, mode = proposal.latest, proposal.suggestion, proposal.mode
    if result.spec is None:
        if not result.proposals:
            return None
        return SuggestedFix(None, None, None, result.proposals, proposal.breaks, mode, proposal.why)
    return SuggestedFix(
        result.spec.version,
        to_yaml(result.spec),
        render_diff(latest, result.spec, diff_specs(latest, result.spec)),
        result.proposals,
        proposal.breaks,
        mode,
    )
