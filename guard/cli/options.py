"""Options shared by several subcommands."""

from __future__ import annotations

from pathlib import Path

import click

from guard.validation.validator import AcceptedVersions

schemas_dir_option = click.option(
    "--schemas-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("schemas"),
    show_default=True,
    help="Directory of <subject>/v<N>.yaml contracts.",
)


def parse_accepted(text: str) -> AcceptedVersions:
    """'latest' | 'all' | '3,2' -> AcceptedVersions."""
    if text in ("latest", "all"):
        return text  # type: ignore[return-value]
    try:
        versions = [int(v.strip().lstrip("vV")) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter("use 'latest', 'all' or a list like '3,2'") from None
    if not versions:
        raise click.BadParameter("no versions given")
    return versions
