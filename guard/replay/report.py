"""What a replay (or a dry run) did: counts by decision and, for failures, by reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from guard.replay.plan import Decision, Outcome


@dataclass
class ReplayReport:
    replay_id: str
    source: str
    target: str
    dry_run: bool
    decisions: Counter[str] = field(default_factory=Counter)
    still_failing_by_reason: Counter[str] = field(default_factory=Counter)
    passed_by_subject: Counter[str] = field(default_factory=Counter)
    interrupted: bool = False

    def add(self, outcome: Outcome) -> None:
        self.decisions[outcome.decision.value] += 1
        if outcome.decision is Decision.FAIL and outcome.verdict is not None:
            self.still_failing_by_reason.update(outcome.verdict.reasons)
        elif outcome.decision is Decision.PASS and outcome.record is not None:
            self.passed_by_subject[outcome.record.subject] += 1

    def merge(self, other: ReplayReport) -> None:
        self.decisions.update(other.decisions)
        self.still_failing_by_reason.update(other.still_failing_by_reason)
        self.passed_by_subject.update(other.passed_by_subject)
        self.interrupted = self.interrupted or other.interrupted

    @property
    def passed(self) -> int:
        return self.decisions[Decision.PASS.value]

    @property
    def still_failing(self) -> int:
        return self.decisions[Decision.FAIL.value]

    def to_json(self) -> dict[str, Any]:
        skipped = {
            k: v
            for k, v in self.decisions.items()
            if k not in (Decision.PASS.value, Decision.FAIL.value)
        }
        return {
            "replay_id": self.replay_id,
            "source": self.source,
            "target": self.target,
            "dry_run": self.dry_run,
            "interrupted": self.interrupted,
            "passed": self.passed,
            "still_failing": self.still_failing,
            "still_failing_by_reason": dict(self.still_failing_by_reason.most_common()),
            "passed_by_subject": dict(self.passed_by_subject.most_common()),
            "skipped": dict(sorted(skipped.items())),
        }

    def render(self) -> str:
        verb = "would pass" if self.dry_run else "passed"
        fail_verb = "would still fail" if self.dry_run else "still failing (requeued)"
        lines = [
            f"{'dry run: ' if self.dry_run else ''}replay {self.replay_id} of {self.source} -> "
            f"{self.target}{' (interrupted)' if self.interrupted else ''}",
            f"  {verb:<26} {self.passed:>7}",
            f"  {fail_verb:<26} {self.still_failing:>7}",
        ]
        for reason, count in self.still_failing_by_reason.most_common():
            lines.append(f"      {reason:<22} {count:>7}")
        for decision in Decision:
            if not decision.writes and self.decisions[decision.value]:
                lines.append(f"  skipped: {decision.value:<17} {self.decisions[decision.value]:>7}")
        return "\n".join(lines)
