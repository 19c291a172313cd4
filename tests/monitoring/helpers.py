"""Helpers shared by monitoring tests: profile encoded records with the real validator."""

from __future__ import annotations

from guard.contracts.registry import Registry
from guard.monitoring.plan import SubjectPlan
from guard.monitoring.profile import WindowProfile
from guard.validation.validator import RecordValidator


def profile_values(
    registry: Registry,
    plan: SubjectPlan,
    values: list[bytes],
    timestamps: list[int] | None = None,
    batch: int = 250,
    partitions: tuple[str, ...] = ("events/0",),
) -> WindowProfile:
    """Records (with timestamps) are spread round-robin over `partitions`."""
    validator = RecordValidator(registry.subject(plan.subject), "all")
    verdicts = [validator.validate(v) for v in values]
    stamps: list[int | None] = list(timestamps) if timestamps else [None] * len(values)
    profile = WindowProfile.for_plan(plan)
    sources = [partitions[i % len(partitions)] if timestamps else None for i in range(len(values))]
    items = list(zip(sources, stamps, verdicts, strict=True))
    for start in range(0, len(values), batch):
        profile.add(plan, items[start : start + batch])
    return profile
