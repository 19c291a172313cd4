"""`guard schemas promote`: a candidate version becomes `active`, through the subject's
compatibility check, by editing only its `status:` line (comments and layout stay)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from guard.contracts.compat import Break, check_new_version
from guard.contracts.registry import Registry, load_contract
from guard.contracts.subject_config import load_subject_config
from guard.errors import ContractError, InputError

_STATUS = re.compile(r"^status:[ \t]*['\"]?candidate['\"]?[ \t]*(#.*)?$", re.MULTILINE)


@dataclass(frozen=True)
class Promotion:
    subject: str
    version: int
    mode: str
    breaks: list[Break]

    @property
    def done(self) -> bool:
        return not self.breaks


def promote(registry: Registry, subject: str, version: int) -> Promotion:
    """Promote candidate `version` of `subject` unless it breaks the subject's mode; the
    file is rewritten only when the check passes."""
    subj = registry.subject(subject)
    contract = subj.versions.get(version)
    if contract is None:
        raise InputError(f"subject {subject!r} has no version {version}")
    if not contract.candidate:
        raise InputError(f"{subject} v{version} is {contract.spec.status}, not a candidate")
    mode = load_subject_config(registry.root, subject).compatibility
    history = [c.spec for v, c in subj.versions.items() if v != version]
    new = contract.spec.model_copy(update={"status": "active"})
    breaks = check_new_version(history, new, mode)
    if breaks:
        return Promotion(subject, version, mode, breaks)
    text = contract.path.read_text(encoding="utf-8")
    edited, n = _STATUS.subn(
        lambda m: "status: active" + (f"  {m.group(1)}" if m.group(1) else ""), text
    )
    if n != 1:
        raise ContractError(contract.path, "expected one top-level 'status: candidate' line")
    contract.path.write_text(edited, encoding="utf-8")
    load_contract(contract.path)  # the edited file still loads
    return Promotion(subject, version, mode, [])
