"""`guard baseline build`: a drift baseline for a subject, profiled from reference files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from guard.cli.options import parse_accepted, schemas_dir_option


@click.group()
def baseline() -> None:
    """Drift baselines: reference profiles stored beside the contracts."""


@baseline.command()
@click.option("--subject", "-s", required=True, help="Contract subject the records belong to.")
@schemas_dir_option
@click.option(
    "--accepted-versions",
    default="all",
    show_default=True,
    help="Versions a record may match ('latest', 'all', or a list like '3,2').",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write here instead of <schemas-dir>/<subject>/baseline-v<N>.json (next free N).",
)
@click.option("--max-bytes", type=int, default=1_048_576, show_default=True)
@click.option("--max-depth", type=int, default=64, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.argument("files", nargs=-1, required=True)
def build(
    subject: str,
    schemas_dir: Path,
    accepted_versions: str,
    out: Path | None,
    max_bytes: int,
    max_depth: int,
    as_json: bool,
    files: tuple[str, ...],
) -> None:
    """Profile the records of FILES (JSON Lines, or JSON arrays; '-' for stdin) into a new
    versioned baseline for SUBJECT, used by the service's drift checks.
    """
    from guard.monitoring import require_libraries

    require_libraries()  # before anything imports the sketch library
    from guard.config.settings import MonitoringSettings
    from guard.contracts import load_registry
    from guard.monitoring.baseline import build_from_files, save_baseline
    from guard.monitoring.plan import plan_subject
    from guard.validation import Limits

    registry = load_registry(schemas_dir)
    plan = plan_subject(registry.subject(subject), MonitoringSettings())
    made = build_from_files(
        registry, plan, list(files), parse_accepted(accepted_versions), Limits(max_bytes, max_depth)
    )
    path = save_baseline(schemas_dir, made, out)
    p = made.profile
    summary = {
        "subject": subject,
        "version": made.version,
        "path": str(path),
        "records": p.records,
        "profiled": p.profiled,
        "valid": p.valid,
        "quarantined": p.quarantined,
        "fields": len(p.fields),
        "unknown_fields": sorted(p.unknown_fields),
    }
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(
        f"{subject}: baseline v{made.version} from {p.records} records "
        f"({p.profiled} profiled, {p.quarantined} quarantined, {len(p.fields)} fields) -> {path}"
    )
