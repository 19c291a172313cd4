"""Validate files against a subject: the same validator and envelope as the Kafka service."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guard.contracts.registry import Registry
from guard.filemode.reader import FileRecord, read_records
from guard.progress import Progress
from guard.quarantine.envelope import Envelope, Source, now_iso
from guard.quarantine.files import QuarantineFileWriter
from guard.validation.decode import Limits
from guard.validation.rules import rule_hits
from guard.validation.validator import AcceptedVersions, RecordValidator


@dataclass
class FileSummary:
    subject: str
    total: int = 0
    valid: int = 0
    quarantined: int = 0
    blank_lines: int = 0  # JSON Lines lines with nothing but whitespace: no record, counted
    by_reason: Counter[str] = field(default_factory=Counter)
    by_field: Counter[str] = field(default_factory=Counter)
    # Contract rules that did not hold: "<rule> (<action>)" -> records; `warn` rules let the
    # record pass and are counted here only.
    by_rule: Counter[str] = field(default_factory=Counter)
    quarantine_file: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "total": self.total,
            "valid": self.valid,
            "quarantined": self.quarantined,
            "blank_lines": self.blank_lines,
            "by_reason": dict(self.by_reason.most_common()),
            "by_field": dict(self.by_field.most_common()),
            "by_rule": dict(self.by_rule.most_common()),
            "quarantine_file": self.quarantine_file,
        }


def validate_files(
    registry: Registry,
    subject: str,
    paths: list[str],
    quarantine_dir: Path,
    accepted: AcceptedVersions = "latest",
    limits: Limits | None = None,
    expose_values: bool = False,
) -> FileSummary:
    validator = RecordValidator(registry.subject(subject), accepted, limits, expose_values)
    summary = FileSummary(subject)
    size = sum(os.path.getsize(p) for p in paths if p != "-" and Path(p).is_file())
    with (
        QuarantineFileWriter(quarantine_dir, subject) as writer,
        Progress(f"validating {subject}", size, unit="B") as progress,
    ):

        def blank(_: FileRecord) -> None:
            summary.blank_lines += 1

        for rec in read_records(paths, on_blank=blank):
            summary.total += 1
            progress.update(len(rec.value) + 1)
            verdict = validator.validate(rec.value)
            hits = rule_hits(verdict.errors, verdict.warnings)
            summary.by_rule.update(f"{rule} ({action})" for rule, action, _ in hits)
            if verdict.ok:
                summary.valid += 1
                continue
            summary.quarantined += 1
            envelope = Envelope(
                source=Source(file=rec.file, line=rec.line),
                subject=subject,
                versions_tried=verdict.versions_tried,
                errors=verdict.errors,
                attempt=1,
                quarantined_at=now_iso(),
            )
            summary.by_reason.update(envelope.reasons)
            summary.by_field.update(e.path or "(record)" for e in verdict.errors)
            writer.write(None, rec.value, envelope)
        if writer.count:
            summary.quarantine_file = str(writer.path)
    return summary
