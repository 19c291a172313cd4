"""A candidate version seen as if it were promoted: the verdicts it would give.

A candidate's verdict is the one the route would give after `guard schemas promote`: the same
accepted versions, with the candidate active (under `latest` it becomes the newest, under
`all` it is tried first, an explicit list gains it). So shadow counts are, by construction,
what the promoted version then quarantines on the same input.
"""

from __future__ import annotations

from dataclasses import replace

from guard.contracts.registry import Subject
from guard.validation.decode import Limits
from guard.validation.validator import AcceptedVersions, RecordValidator


def promoted(subject: Subject, version: int) -> Subject:
    """`subject` with candidate `version` active (other candidates stay candidates)."""
    versions = dict(subject.versions)
    contract = versions[version]
    versions[version] = replace(
        contract, spec=contract.spec.model_copy(update={"status": "active"})
    )
    return Subject(subject.name, versions)


def candidate_validators(
    subject: Subject,
    accepted: AcceptedVersions,
    limits: Limits | None = None,
    expose_values: bool = False,
) -> dict[int, RecordValidator]:
    """One validator per candidate version of `subject`, judging as if it were promoted."""
    out: dict[int, RecordValidator] = {}
    for version in subject.candidates:
        wanted = accepted if isinstance(accepted, str) else sorted({*accepted, version})
        out[version] = RecordValidator(promoted(subject, version), wanted, limits, expose_values)
    return out
