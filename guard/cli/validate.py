"""`guard validate`: check files against a subject's contracts (CI and local use)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from guard.cli.options import parse_accepted, schemas_dir_option
from guard.errors import InputError


@click.command()
@click.option("--subject", "-s", required=True, help="Contract subject to validate against.")
@schemas_dir_option
@click.option(
    "--accepted-versions",
    default="latest",
    show_default=True,
    help="'latest', 'all', or a list like '3,2' (tried newest first).",
)
@click.option(
    "--quarantine-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("quarantine"),
    show_default=True,
    help="Where quarantined records are written as JSON Lines.",
)
@click.option("--max-bytes", type=click.IntRange(min=1), default=1_048_576, show_default=True)
@click.option("--max-depth", type=click.IntRange(1, 10_000), default=64, show_default=True)
@click.option("--show-values", is_flag=True, help="Let error entries carry offending values.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--allow-empty", is_flag=True, help="Input with no records passes (exit 0) instead of 2."
)
@click.option(
    "--candidate",
    is_flag=True,
    help="Also show what each `status: candidate` version would quarantine, as if promoted "
    "(the exit status and quarantine files still follow the enforced versions).",
)
@click.argument("files", nargs=-1, required=True)
def validate(
    subject: str,
    schemas_dir: Path,
    accepted_versions: str,
    quarantine_dir: Path,
    max_bytes: int,
    max_depth: int,
    show_values: bool,
    as_json: bool,
    allow_empty: bool,
    candidate: bool,
    files: tuple[str, ...],
) -> None:
    """Validate JSON Lines / JSON FILES ('-' for stdin) against SUBJECT.

    Exits 0 when every record passes, 1 when any is quarantined, 2 on usage or input errors,
    including input with no records at all (an empty CI export must not pass) unless
    --allow-empty.
    """
    from guard.contracts import load_registry
    from guard.filemode import validate_files
    from guard.validation import Limits

    if candidate and any(_read_once(f) for f in files):
        raise click.UsageError(
            "--candidate reads the files twice: give regular files, not stdin or a pipe"
        )
    registry = load_registry(schemas_dir)
    summary = validate_files(
        registry,
        subject,
        list(files),
        quarantine_dir,
        parse_accepted(accepted_versions),
        Limits(max_bytes, max_depth),
        show_values,
    )
    shadow = None
    if candidate:
        from guard.shadow.files import shadow_files

        shadow = shadow_files(
            registry,
            subject,
            list(files),
            parse_accepted(accepted_versions),
            Limits(max_bytes, max_depth),
        )
    if as_json:
        data = summary.to_json()
        if shadow is not None:
            data["candidates"] = [c.to_json() for c in shadow]
        click.echo(json.dumps(data, indent=2))
    else:
        blank = f", {summary.blank_lines} blank lines (no record)" if summary.blank_lines else ""
        click.echo(
            f"{summary.subject}: {summary.total} records, {summary.valid} valid, "
            f"{summary.quarantined} quarantined{blank}"
        )
        for reason, count in summary.by_reason.most_common():
            click.echo(f"  {reason:<20} {count}")
        if summary.by_rule:
            click.echo("rules that did not hold:")
            for rule, count in summary.by_rule.most_common():
                click.echo(f"  {rule:<40} {count}")
        if summary.quarantine_file:
            click.echo(f"quarantined records: {summary.quarantine_file}")
        if shadow is not None:
            from guard.shadow.files import render_counts

            for line in render_counts(shadow):
                click.echo(line)
    if summary.total == 0 and not allow_empty:
        raise InputError("no records in the input (pass --allow-empty if that is expected)")
    sys.exit(1 if summary.quarantined else 0)


def _read_once(name: str) -> bool:
    """stdin, a named pipe or a process substitution (`<(zcat x.gz)`): a second read would
    find nothing."""
    path = Path(name)
    return name == "-" or (path.exists() and not path.is_file() and not path.is_dir())
