"""`guard validate --candidate`: what each candidate version would do to files, in CI."""

from __future__ import annotations

from guard.contracts.registry import Registry
from guard.errors import InputError
from guard.filemode.reader import read_records
from guard.shadow.counts import ShadowCounts
from guard.shadow.view import candidate_validators
from guard.validation.decode import Limits
from guard.validation.validator import AcceptedVersions, RecordValidator


def shadow_files(
    registry: Registry,
    subject: str,
    paths: list[str],
    accepted: AcceptedVersions = "latest",
    limits: Limits | None = None,
) -> list[ShadowCounts]:
    """Per candidate version of `subject`: its verdicts on the records of `paths`, against
    the enforced verdicts. InputError when the subject has no candidate version."""
    subj = registry.subject(subject)
    shadows = candidate_validators(subj, accepted, limits)
    if not shadows:
        raise InputError(f"subject {subject!r} has no version with status: candidate")
    enforced = RecordValidator(subj, accepted, limits)
    counts = {v: ShadowCounts(subject, v) for v in shadows}
    for rec in read_records(paths):
        ok = enforced.validate(rec.value).ok
        where = {"file": rec.file, "line": rec.line}
        for version, validator in shadows.items():
            counts[version].add(ok, validator.validate(rec.value), where)
    return [counts[v] for v in sorted(counts)]


def render_counts(counts: list[ShadowCounts]) -> list[str]:
    """Text lines for `guard validate --candidate` and `guard shadow status`."""
    lines: list[str] = []
    for c in counts:
        lines.append(
            f"{c.subject} v{c.version} (candidate): {c.records} records, would quarantine "
            f"{c.would_quarantine} ({c.newly_quarantined} that pass today; "
            f"{c.newly_passing} quarantined today would pass)"
        )
        lines += [f"  {reason:<28} {n}" for reason, n in c.by_reason.most_common()]
        if c.by_rule:
            lines.append("  rules that did not hold:")
            lines += [f"    {rule:<40} {n}" for rule, n in c.by_rule.most_common()]
        for sample in c.samples[:5]:
            where = ", ".join(f"{k}={v}" for k, v in sample.items() if k != "reasons")
            lines.append(f"  e.g. {where}: {','.join(sample['reasons'])}")
    return lines
