"""`guard schemas check | diff | suggest`: contract evolution, checked the Schema Registry way."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, cast

import click

from guard.cli.options import schemas_dir_option
from guard.compat_modes import MODES, Mode


@click.command("check")
@schemas_dir_option
@click.option("--subject", "-s", "subjects", multiple=True, help="Only this subject (repeatable).")
@click.option(
    "--mode",
    type=click.Choice(MODES, case_sensitive=False),
    help="Use this mode for every subject instead of its subject.yaml.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def check(schemas_dir: Path, subjects: tuple[str, ...], mode: str | None, as_json: bool) -> None:
    """Check every subject's versions against its compatibility mode.

    The mode comes from schemas/<subject>/subject.yaml (`compatibility: BACKWARD`, the
    default). Each version is checked as if registered in order: against the one before it,
    or against every earlier one (retired included) for the _TRANSITIVE modes.
    Exits 0 when compatible, 1 on a break, 2 on a broken contract or usage error.
    """
    from guard.contracts import load_registry
    from guard.contracts.compat import check_history
    from guard.contracts.subject_config import load_subject_config

    registry = load_registry(schemas_dir)
    names = list(subjects) or sorted(registry.subjects)
    report: list[dict[str, Any]] = []
    broken = False
    for name in names:
        subject = registry.subject(name)
        chosen: Mode = (
            cast(Mode, mode.upper())
            if mode
            else load_subject_config(schemas_dir, name).compatibility
        )
        specs = [c.spec for _, c in sorted(subject.versions.items())]
        breaks = check_history(specs, chosen)
        broken = broken or bool(breaks)
        report.append(
            {
                "subject": name,
                "mode": chosen,
                "versions": [s.version for s in specs],
                "compatible": not breaks,
                "breaks": [b.to_json() for b in breaks],
            }
        )
        if as_json:
            continue
        state = "ok" if not breaks else f"{len(breaks)} break{'s' if len(breaks) > 1 else ''}"
        versions = ", ".join(f"v{s.version}" for s in specs)
        click.echo(f"{name}: {chosen} ({versions}): {state}")
        for b in breaks:
            click.echo(
                f"  v{b.old_version} -> v{b.new_version} {b.direction} {b.field} [{b.rule}]: "
                f"old: {b.old}; new: {b.new}; {b.why}"
            )
    if as_json:
        click.echo(json.dumps(report, indent=2))
    sys.exit(1 if broken else 0)


@click.command("diff")
@schemas_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the changes as JSON.")
@click.argument("subject")
@click.argument("old")
@click.argument("new")
def diff(schemas_dir: Path, as_json: bool, subject: str, old: str, new: str) -> None:
    """Show what changed from version OLD to version NEW of SUBJECT (e.g. `orders v1 v2`),
    and whether each direction is compatible.

    Exits 1 when the step breaks the subject's compatibility mode (subject.yaml), else 0."""
    from guard.contracts import load_registry
    from guard.contracts.compat import check_pair
    from guard.contracts.diff import diff_specs, render_diff
    from guard.contracts.subject_config import load_subject_config

    subj = load_registry(schemas_dir).subject(subject)
    a, b = (_version(subj.versions, v, subject).spec for v in (old, new))
    changes = diff_specs(a, b)
    older, newer = (a, b) if a.version <= b.version else (b, a)
    backward = check_pair(older, newer, "BACKWARD")
    forward = check_pair(older, newer, "FORWARD")
    mode = load_subject_config(schemas_dir, subject).compatibility
    under_mode = (backward if mode.startswith(("BACKWARD", "FULL")) else []) + (
        forward if mode.startswith(("FORWARD", "FULL")) else []
    )
    broken = a.version != b.version and bool(under_mode)
    if as_json:
        doc = {
            "subject": subject,
            "old": a.version,
            "new": b.version,
            "changes": [c.to_json() for c in changes],
            "backward_breaks": [x.to_json() for x in backward],
            "forward_breaks": [x.to_json() for x in forward],
            "compatibility_mode": mode,
            "mode_broken": broken,
        }
        click.echo(json.dumps(doc, indent=2))
        sys.exit(1 if broken else 0)
    click.echo(render_diff(a, b, changes))
    if a.version == b.version:
        return
    o, n = f"v{older.version}", f"v{newer.version}"
    for name, breaks, meaning in (
        ("BACKWARD", backward, f"{n} reads {o} data"),
        ("FORWARD", forward, f"{o} reads {n} data"),
    ):
        state = "ok" if not breaks else f"{len(breaks)} break{'s' if len(breaks) > 1 else ''}"
        click.echo(f"{name} ({meaning}): {state}")
        for x in breaks:
            click.echo(f"  {x.field} [{x.rule}]: {x.why}")
    verdict = "BROKEN" if broken else "ok"
    click.echo(f"{subject} mode {mode}: {verdict}")
    sys.exit(1 if broken else 0)


@click.command("suggest")
@schemas_dir_option
@click.option("--subject", "-s", required=True, help="Subject the records belong to.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the proposed contract here (never overwrites) instead of printing it.",
)
@click.option(
    "--min-share",
    type=click.FloatRange(0, 1),
    default=0.01,
    show_default=True,
    help="Apply a change only if at least this share of records (or values) shows it.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the proposal as JSON.")
@click.argument("files", nargs=-1, required=True)
def suggest(
    schemas_dir: Path,
    subject: str,
    out: Path | None,
    min_share: float,
    as_json: bool,
    files: tuple[str, ...],
) -> None:
    """Propose SUBJECT's next contract version from observed records in FILES.

    New fields are declared (optional), integer widens to number, enums gain the values
    seen, fields seen absent or null become optional or nullable. Values that break ranges,
    lengths, patterns or formats are listed, not applied: they are usually bad data. The
    contract is printed (or written with --out); the changes and the compatibility check
    against the subject's mode go to stderr.
    """
    from guard.contracts import load_registry
    from guard.contracts.next_version import propose_next
    from guard.contracts.suggest import to_yaml
    from guard.errors import InputError
    from guard.reports.records import load_batch

    subj = load_registry(schemas_dir).subject(subject)
    batch = load_batch(list(files), "records", strict=False)
    proposal = propose_next(subj, schemas_dir, batch.records, min_share)
    latest, result, mode, breaks = (
        proposal.latest,
        proposal.suggestion,
        proposal.mode,
        proposal.breaks,
    )
    text = to_yaml(result.spec) if result.spec else None
    if as_json:
        doc = {
            "subject": subject,
            "based_on": latest.version,
            "version": result.spec.version if result.spec else None,
            "contract": text,
            "proposals": [p.to_json() for p in result.proposals],
            "compatibility_mode": mode,
            "compatibility_breaks": [b.to_json() for b in breaks],
            "why_none": proposal.why,
            "records": len(batch.records),
            "unreadable": len(batch.unreadable),
        }
        click.echo(json.dumps(doc, indent=2))
    if batch.unreadable:
        click.echo(f"{len(batch.unreadable)} lines are not JSON objects; skipped", err=True)
    for p in result.proposals:
        mark = "+" if p.applied else "!"
        click.echo(f"{mark} {p.field}: {p.change}: {p.detail}", err=True)
    if result.spec is None or text is None:
        if proposal.why is None:
            click.echo(f"{subject} v{latest.version} already accepts these records", err=True)
            return
        click.echo(f"{subject}: no next version to suggest under {mode}: {proposal.why}", err=True)
        sys.exit(1)
    state = "compatible"
    if breaks:
        state += f"; {len(breaks)} change(s) left out because they break it"
    click.echo(f"v{result.spec.version} under {mode}: {state}", err=True)
    for b in breaks:
        click.echo(
            f"  left out: v{b.old_version} {b.direction} {b.field} [{b.rule}]: {b.why}", err=True
        )
    if out is not None:
        if out.exists():
            raise InputError(f"--out {out}: already exists; not overwritten")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        click.echo(str(out))
    elif not as_json:
        click.echo(text, nl=False)


def _version(versions: dict[int, Any], text: str, subject: str) -> Any:
    try:
        number = int(text.lstrip("vV"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a version like 2 or v2") from None
    if number not in versions:
        known = ", ".join(f"v{v}" for v in sorted(versions))
        raise click.BadParameter(f"subject {subject!r} has no version {text} (known: {known})")
    return versions[number]
