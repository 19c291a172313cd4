"""`guard drift report`: baseline vs current records, judged against a contract, for CI."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from guard.cli.options import schemas_dir_option

_F = TypeVar("_F", bound=Callable[..., Any])

# Defaults live here, not in guard.monitoring, so `--help` imports no scipy. They are the
# stream monitor's defaults (guard/config/settings.py DriftThresholdSettings): one engine.
_P_VALUE, _DISTANCE, _NULL_RATE = 0.05, 0.1, 0.05


def _share(
    name: str, default: float, text: str, high: float = 1.0, zero: bool = True
) -> Callable[[_F], _F]:
    """A share option; `zero` False for a threshold, which the settings hold to (0, high]
    (0 would be a crash there, not a usage error)."""
    kind = click.FloatRange(0, high, min_open=not zero)
    return click.option(name, type=kind, default=default, show_default=True, help=text)


@click.command("report")
@click.option("--subject", "-s", required=True, help="Contract subject the data belongs to.")
@schemas_dir_option
@click.option("--version", "-v", "version", type=int, help="Contract version [default: latest].")
@click.option(
    "--baseline",
    "-b",
    "baseline",
    multiple=True,
    required=True,
    help="Baseline records: a JSON Lines or JSON file (repeatable).",
)
@click.option(
    "--current",  # no short flag: -c is --config in every command
    "current",
    multiple=True,
    required=True,
    help="Current records (JSON Lines / JSON); more files may follow as arguments.",
)
@click.option(
    "--out",
    "-o",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Directory for report.html, report.md, report.json and the GX Data Docs.",
)
@_share("--p-value", _P_VALUE, "Family-wise significance over every test (Holm).", 0.5, zero=False)
@_share(
    "--distance",
    _DISTANCE,
    "Material change: Wasserstein (in sd) and Jensen-Shannon distance.",
    zero=False,
)
@_share("--null-rate", _NULL_RATE, "Material change in the absent or the null share.", zero=False)
@click.option(
    "--min-records",
    type=click.IntRange(1),
    default=100,
    show_default=True,
    help="Fewer current records: not checked ('insufficient data').",
)
@click.option(
    "--min-values",
    type=click.IntRange(1),
    default=30,
    show_default=True,
    help="Fewer values of a field: its distribution is 'insufficient data'.",
)
@click.option(
    "--max-categories",
    type=click.IntRange(1),
    default=50,
    show_default=True,
    help="A field with more distinct baseline values is compared by value or length.",
)
@_share("--drift-share", 0.0, "Drift when more than this share of fields drift (0: any).")
@click.option(
    "--show-values",
    is_flag=True,
    help="Put offending values in failure cases and Data Docs (off: no record values).",
)
@click.option(
    "--no-gx",
    "no_gx",
    is_flag=True,
    help="Skip the Great Expectations corroboration (and its Data Docs).",
)
@click.argument("more_current", nargs=-1, metavar="[CURRENT_FILE]...")
def report(
    subject: str,
    schemas_dir: Path,
    version: int | None,
    baseline: tuple[str, ...],
    current: tuple[str, ...],
    out_dir: Path,
    p_value: float,
    distance: float,
    null_rate: float,
    min_records: int,
    min_values: int,
    max_categories: int,
    drift_share: float,
    show_values: bool,
    no_gx: bool,
    more_current: tuple[str, ...],
) -> None:
    """Compare CURRENT records with BASELINE records under SUBJECT's contract.

    Both are profiled and judged by the stream monitor's drift engine (one rule set). Writes
    report.html (plots and a verdict per field), report.md (for a job summary or a
    pull-request comment), report.json, and Great Expectations Data Docs to OUT.
    Exits 0 when nothing drifted (or too little data to tell: "insufficient data"), 1 on
    drift or contract failures, 2 on usage or input errors.
    """
    from guard.contracts import load_registry
    from guard.errors import InputError

    try:
        from guard.config.settings import DriftThresholdSettings
        from guard.reports.drift import build_report
        from guard.reports.write import write_report
    except ImportError as exc:  # the optional `reports` dependencies are not installed
        raise InputError(
            f"drift reports need the 'reports' extra ({exc.name} is missing): "
            "pip install 'ingest-guard[reports]'"
        ) from exc

    registry = load_registry(schemas_dir)
    registry.subject(subject)  # an unknown subject fails before any data is read
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out_dir}: cannot create: {exc.strerror}") from exc
    limits = DriftThresholdSettings(
        p_value=p_value,
        wasserstein=distance,
        js=distance,
        null_rate_abs=null_rate,
        missing_rate_abs=null_rate,
        min_records=min_records,
        min_values=min_values,
        categorical_max=max_categories,
    )
    result = build_report(
        registry,
        schemas_dir,
        subject,
        version,
        list(baseline),
        [*current, *more_current],
        out_dir,
        limits,
        drift_share,
        show_values,
        great_expectations=not no_gx,
    )
    written = write_report(result, out_dir)
    verdict = {"drift": "DRIFT", "no_drift": "no drift"}.get(result.verdict, "insufficient data")
    why = f" ({', '.join(result.reasons)})" if result.reasons else ""
    click.echo(
        f"{subject} v{result.version}: {verdict}{why}; "
        f"{len(result.drifted_fields)} of {len(result.rows)} fields drifted, "
        f"{result.contract_rejected} records break the contract"
    )
    for path in (written.html, written.markdown, written.json):
        click.echo(str(path))
    if result.gx is not None:
        click.echo(str(result.gx.data_docs))
    sys.exit(1 if result.drift else 0)
