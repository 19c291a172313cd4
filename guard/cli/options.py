"""Options shared by several subcommands."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # at run time these load pydantic: only the commands that run need them
    from guard.quarantine.filters import RecordFilter
    from guard.validation.validator import AcceptedVersions

config_option = click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="guard.yaml (GUARD_* environment variables override it).",
)

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


def quarantine_source_options(fn: Any) -> Any:
    """--config (Kafka quarantine topics) or --dir (file-mode quarantine), plus --topic."""
    fn = click.option(
        "--topic",
        "topics",
        multiple=True,
        help="Only these quarantine topics (default: every route's quarantine topic).",
    )(fn)
    fn = click.option(
        "--dir",
        "directory",
        type=click.Path(path_type=Path, file_okay=False),
        help="A file-mode quarantine directory instead of Kafka.",
    )(fn)
    fn = click.option(
        "--config",
        "-c",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="guard.yaml: read the quarantine topics of its routes.",
    )(fn)
    return fn


_TIME_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"]
_FILTER_KEYS = (
    "subjects",
    "reasons",
    "fields",
    "since",
    "until",
    "partitions",
    "offset_from",
    "offset_to",
)


def filter_options(fn: Any) -> Any:
    """Filter options shared by `quarantine show/stats` and `replay`, handed to the command
    as one `record_filter: RecordFilter` argument."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {k: kwargs.pop(k) for k in _FILTER_KEYS}
        return fn(*args, record_filter=_build_filter(**values), **kwargs)

    for decorator in reversed(
        [
            click.option(
                "--subject", "subjects", multiple=True, help="Only this subject (repeatable)."
            ),
            click.option(
                "--reason", "reasons", multiple=True, help="Only records with this reason code."
            ),
            click.option(
                "--field", "fields", multiple=True, help="Only records with an error on this field."
            ),
            click.option(
                "--since", type=click.DateTime(_TIME_FORMATS), help="Quarantined at or after (UTC)."
            ),
            click.option(
                "--until", type=click.DateTime(_TIME_FORMATS), help="Quarantined before (UTC)."
            ),
            click.option(
                "--partition", "partitions", type=int, multiple=True, help="Source partition."
            ),
            click.option("--offset-from", type=int, help="Source offset, inclusive."),
            click.option("--offset-to", type=int, help="Source offset, inclusive."),
        ]
    ):
        wrapper = decorator(wrapper)
    return wrapper


def _build_filter(
    subjects: tuple[str, ...],
    reasons: tuple[str, ...],
    fields: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
    partitions: tuple[int, ...],
    offset_from: int | None,
    offset_to: int | None,
) -> RecordFilter:
    from guard.quarantine.filters import RecordFilter

    def utc(t: datetime | None) -> datetime | None:
        return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t

    return RecordFilter(
        frozenset(subjects),
        frozenset(reasons),
        frozenset(fields),
        utc(since),
        utc(until),
        frozenset(partitions),
        offset_from,
        offset_to,
    )
