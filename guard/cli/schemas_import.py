"""`guard schemas import`: contracts from JSON Schema, Avro or a Schema Registry subject."""

from __future__ import annotations

import json
from pathlib import Path

import click

from guard.cli.options import schemas_dir_option


@click.command("import")
@schemas_dir_option
@click.option(
    "--from",
    "kind",
    type=click.Choice(["jsonschema", "avro", "registry"]),
    required=True,
    help="The source: a JSON Schema file, an Avro .avsc, or a Schema Registry subject.",
)
@click.option("--subject", "-s", required=True, help="The contract subject to write.")
@click.option("--version", "-v", "version", type=int, help="Version to write (default: next).")
@click.option("--url", help="Schema Registry URL (--from registry).")
@click.option(
    "--registry-subject", help="Registry subject (--from registry; default <subject>-value)."
)
@click.argument("source", required=False, type=click.Path(path_type=Path, dir_okay=False))
def import_(
    schemas_dir: Path,
    kind: str,
    subject: str,
    version: int | None,
    url: str | None,
    registry_subject: str | None,
    source: Path | None,
) -> None:
    """Write schemas/<subject>/v<N>.yaml from SOURCE (or every version of a registry
    subject, with its CEL domain rules as rules). What a contract cannot express is refused
    with its JSON Pointer; nothing is written then. Exits 2 on a refusal."""
    from guard.contracts.importers.avro import from_avro
    from guard.contracts.importers.common import checked, write_contract
    from guard.contracts.importers.jsonschema import from_json_schema
    from guard.contracts.importers.registry import (
        fetch_versions,
        from_registry_version,
        without_credentials,
    )
    from guard.errors import InputError

    if kind == "registry":
        if not url or source is not None:
            raise click.UsageError("--from registry takes --url and no SOURCE file")
        name = registry_subject or f"{subject}-value"
        where = f"{without_credentials(url).rstrip('/')}/subjects/{name}"
        specs = [
            checked(
                f"{where}/versions/{e['version']}",
                from_registry_version(e, f"{where}/versions/{e['version']}", subject),
            )
            for e in fetch_versions(url, name)
        ]
        if not specs:
            raise InputError(f"{where}: no versions")
    else:
        if source is None:
            raise click.UsageError(f"--from {kind} needs a SOURCE file")
        try:
            doc = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{source}: not a readable JSON document: {exc}") from exc
        number = version or _next_version(schemas_dir, subject)
        build = from_avro if kind == "avro" else from_json_schema
        specs = [checked(str(source), build(doc, str(source), subject, number))]
    for spec in specs:  # every version checked before any file is written
        click.echo(str(write_contract(schemas_dir, spec)))


def _next_version(schemas_dir: Path, subject: str) -> int:
    found = [
        int(p.stem[1:]) for p in (schemas_dir / subject).glob("v*.yaml") if p.stem[1:].isdigit()
    ]
    return max(found, default=0) + 1
