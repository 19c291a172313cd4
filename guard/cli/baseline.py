"""`guard baseline build`: a drift baseline for a subject, profiled from reference files."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.core import ParameterSource

from guard.cli.options import parse_accepted, schemas_dir_option

PRIVACY_NOTE = (
    "note: the baseline stores the values of enum-like fields in clear text ({fields}), and "
    "samples of numeric values; if those can be personal or confidential data (postcodes, "
    "names, IDs), review the file before committing it beside the contracts"
)


@click.group()
def baseline() -> None:
    """Drift baselines: reference profiles stored beside the contracts."""


@baseline.command()
@click.option("--subject", "-s", required=True, help="Contract subject the records belong to.")
@click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="guard.yaml: profile with its `monitoring` section (per-field `categorical`, sketch "
    "sizes, thresholds) and its schemas_dir and limits, as the service will. Without it the "
    "defaults apply, and the service warns when its settings differ.",
)
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
@click.option("--max-bytes", type=click.IntRange(min=1), default=1_048_576, show_default=True)
@click.option("--max-depth", type=click.IntRange(1, 10_000), default=64, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.argument("files", nargs=-1, required=True)
@click.pass_context
def build(
    ctx: click.Context,
    subject: str,
    config_path: Path | None,
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

    Pass the service's --config so the baseline is profiled with the same monitoring
    settings (e.g. `monitoring.fields.<subject>.<field>.categorical: true`); explicit
    --schemas-dir, --max-bytes and --max-depth still win over the config.

    Privacy: the baseline keeps category values of enum-like fields (e.g. country codes,
    but also postcodes or status texts) and samples of numeric values in clear text. Review
    it before committing it beside the contracts; the same values are on the profiles topic.
    A field made `categorical: false` under monitoring.fields keeps no category values.
    """
    from guard.monitoring import require_libraries

    require_libraries()  # before anything imports the sketch library
    from guard.config.settings import MonitoringSettings
    from guard.contracts import load_registry
    from guard.monitoring.baseline import build_from_files, save_baseline
    from guard.monitoring.plan import plan_subject
    from guard.validation import Limits

    monitoring = MonitoringSettings()
    if config_path is not None:
        from guard.transport.factory import load_checked_settings

        settings = load_checked_settings(config_path)
        monitoring = settings.monitoring

        def given(name: str) -> bool:
            return ctx.get_parameter_source(name) is not ParameterSource.DEFAULT

        if not given("schemas_dir"):
            schemas_dir = settings.schemas_dir
        if not given("max_bytes"):
            max_bytes = settings.limits.max_bytes
        if not given("max_depth"):
            max_depth = settings.limits.max_depth
    registry = load_registry(schemas_dir)
    plan = plan_subject(registry.subject(subject), monitoring)
    made = build_from_files(
        registry, plan, list(files), parse_accepted(accepted_versions), Limits(max_bytes, max_depth)
    )
    path = save_baseline(schemas_dir, made, out)
    p = made.profile
    clear = made.fields_with_values()
    summary = {
        "subject": subject,
        "version": made.version,
        "path": str(path),
        "config": None if config_path is None else str(config_path),
        "records": p.records,
        "profiled": p.profiled,
        "valid": p.valid,
        "quarantined": p.quarantined,
        "fields": len(p.fields),
        "categorical_fields": sorted(made.categorical_fields()),
        "unknown_fields": sorted(p.unknown_fields),
        "values_in_clear": clear,
    }
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(
        f"{subject}: baseline v{made.version} from {p.records} records "
        f"({p.profiled} profiled, {p.quarantined} quarantined, {len(p.fields)} fields) -> {path}"
    )
    if config_path is None:
        click.echo("monitoring settings: defaults (pass --config guard.yaml to use the service's)")
    if clear:
        click.echo(PRIVACY_NOTE.format(fields=", ".join(clear)))
