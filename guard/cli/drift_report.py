"""`guard drift report`: baseline vs current records, judged against a contract, for CI."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from guard.cli.options import schemas_dir_option

_F = TypeVar("_F", bound=Callable[..., Any])

# Defaults live here, not in guard.reports.stats, so `--help` imports no scipy.
_P_VALUE, _DISTANCE, _NULL_RATE, _NEW_VALUES, _KL = 0.05, 0.1, 0.05, 0.01, 0.1


def _share(name: str, default: float, text: str) -> Callable[[_F], _F]:
    return click.option(
        name, type=click.FloatRange(0, 1), default=default, show_default=True, help=text
    )


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
@_share("--p-value", _P_VALUE, "A change is significant below this p-value.")
@_share("--distance", _DISTANCE, "Material change: normed Wasserstein / Jensen-Shannon.")
@_share("--null-rate", _NULL_RATE, "Material change in the share of missing values.")
@_share("--new-values", _NEW_VALUES, "Share of unseen category values that drifts a field.")
@click.option(
    "--kl",
    type=click.FloatRange(0),
    default=_KL,
    show_default=True,
    help="Least KL divergence a GX distribution expectation tolerates.",
)
@click.option(
    "--max-categories",
    type=click.IntRange(1),
    default=20,
    show_default=True,
    help="A string field with more distinct baseline values is compared as text (lengths).",
)
@_share("--drift-share", 0.0, "Drift when more than this share of fields drift (0: any).")
@click.option(
    "--show-values",
    is_flag=True,
    help="Put offending values in failure cases and Data Docs (off: no record values).",
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
    new_values: float,
    kl: float,
    max_categories: int,
    drift_share: float,
    show_values: bool,
    more_current: tuple[str, ...],
) -> None:
    """Compare CURRENT records with BASELINE records under SUBJECT's contract.

    Writes report.html (plots and a verdict per field), report.md (for a job summary or a
    pull-request comment), report.json, and Great Expectations Data Docs to OUT.
    Exits 0 when nothing drifted, 1 on drift or contract failures, 2 on usage or input errors.
    """
    from guard.contracts import load_registry
    from guard.errors import InputError

    try:
        from guard.reports.drift import build_report
        from guard.reports.stats import Thresholds
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
    limits = Thresholds(
        p_value=p_value,
        distance=distance,
        null_rate=null_rate,
        new_values=new_values,
        kl=kl,
        max_categories=max_categories,
        drift_share=drift_share,
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
        show_values,
    )
    written = write_report(result, out_dir)
    verdict = "DRIFT" if result.drift else "no drift"
    why = f" ({', '.join(result.reasons)})" if result.reasons else ""
    click.echo(
        f"{subject} v{result.version}: {verdict}{why}; "
        f"{len(result.drifted_fields)} of {len(result.fields)} fields drifted, "
        f"{result.contract.total} contract failure cases"
    )
    for path in (written.html, written.markdown, written.json):
        click.echo(str(path))
    if result.gx is not None:
        click.echo(str(result.gx.data_docs))
    sys.exit(1 if result.drift else 0)
