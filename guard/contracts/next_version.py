"""The next version of a subject from observed records, fitted to its compatibility mode.

`suggest` proposes every change the records ask for; here the proposal is checked against
the subject's whole history under its mode (schemas/<subject>/subject.yaml), and a change
that breaks the mode is left out (its field keeps the latest version's definition) and
listed with the break, until what is left passes. When nothing is left, there is no version
that both accepts more of the records and passes the mode, and `why` says so. `guard
schemas suggest` and the drift report's suggested fix both use this, so they agree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guard.contracts.spec import ContractSpec
from guard.contracts.suggest import MIN_SHARE, Proposal, Suggestion, observe, suggest

if TYPE_CHECKING:
    from guard.compat_modes import Mode
    from guard.contracts.compat import Break
    from guard.contracts.registry import Subject

_MAX_ROUNDS = 50


@dataclass(frozen=True)
class NextVersion:
    """`suggestion.spec` passes `mode` (or is None: see `why`); `breaks` are the breaks of
    the changes that were left out."""

    latest: ContractSpec
    suggestion: Suggestion
    mode: Mode
    breaks: list[Break]
    why: str | None = None


def propose_next(
    subject: Subject,
    schemas_dir: Path,
    records: Iterable[dict[str, Any]],
    min_share: float = MIN_SHARE,
) -> NextVersion:
    from guard.contracts.compat import check_new_version
    from guard.contracts.subject_config import load_subject_config

    latest = subject.versions[subject.latest].spec
    result = suggest(latest, observe(records), max(subject.versions) + 1, min_share)
    mode = load_subject_config(schemas_dir, subject.name).compatibility
    if result.spec is None:
        why = None
        if result.proposals:
            n = len(result.proposals)
            why = f"no change can be applied: {n} observation(s) need a person"
        return NextVersion(latest, result, mode, [], why)
    history = [c.spec for _, c in sorted(subject.versions.items())]
    spec: ContractSpec | None = result.spec
    proposals = list(result.proposals)
    left_out: list[Break] = []
    for _ in range(_MAX_ROUNDS):
        assert spec is not None
        breaks = check_new_version(history, spec, mode)
        if not breaks:
            break
        left_out.extend(breaks)
        names = {_top(b.field) for b in breaks}
        proposals = [_leave_out(p, names, mode, breaks) for p in proposals]
        spec = _revert(latest, spec, names)
        if spec is None or not any(p.applied for p in proposals):
            spec = None
            break
    if spec is None:
        listed = "; ".join(f"{b.field or '(record)'} [{b.rule}]: {b.why}" for b in left_out[:5])
        why = f"every change the records ask for breaks {mode}: {listed}"
        return NextVersion(latest, Suggestion(None, proposals), mode, left_out, why)
    return NextVersion(latest, Suggestion(spec, proposals), mode, left_out)


def _top(path: str) -> str:
    """The top-level field a path is under ('' for the record itself)."""
    return path.split(".", 1)[0].split("[", 1)[0]


def _leave_out(p: Proposal, names: set[str], mode: str, breaks: list[Break]) -> Proposal:
    if not p.applied or _top(p.field) not in names:
        return p
    why = next((b.why for b in breaks if _top(b.field) == _top(p.field)), "")
    return dataclasses.replace(
        p, applied=False, detail=f"{p.detail}; left out: breaks {mode}: {why}"
    )


def _revert(latest: ContractSpec, spec: ContractSpec, names: set[str]) -> ContractSpec | None:
    """`spec` with the named top-level fields as in `latest` (or removed when new there);
    '' reverts the record-level settings. None when nothing differs from `latest` any more."""
    old = latest.model_dump(exclude_none=True)
    raw = spec.model_dump(exclude_none=True)
    for name in names:
        if name == "":
            for key in ("unknown_fields",):
                if key in old:
                    raw[key] = old[key]
            continue
        if name in old["fields"]:
            raw["fields"][name] = old["fields"][name]
        else:
            raw["fields"].pop(name, None)
    if raw["fields"] == old["fields"] and {
        k: v for k, v in raw.items() if k not in {"version", "status", "fields"}
    } == {k: v for k, v in old.items() if k not in {"version", "status", "fields"}}:
        return None
    return ContractSpec.model_validate(raw)
