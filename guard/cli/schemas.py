"""`guard schemas`: list contracts and export them as JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import click

from guard.cli.options import schemas_dir_option


@click.group()
def schemas() -> None:
    """Work with the versioned contracts."""


@schemas.command("list")
@schemas_dir_option
def list_(schemas_dir: Path) -> None:
    """Load (and so check) every contract; list subjects and versions."""
    from guard.contracts import load_registry

    registry = load_registry(schemas_dir)
    for name, subject in sorted(registry.subjects.items()):
        for version, contract in sorted(subject.versions.items()):
            status = contract.spec.status
            marker = " (latest)" if status == "active" and version == subject.latest else ""
            click.echo(
                f"{name} v{version} {status}{marker} "
                f"unknown_fields={contract.spec.unknown_fields} {contract.path}"
            )


@schemas.command("export")
@schemas_dir_option
@click.option("--subject", "-s", help="Only this subject.")
@click.option("--version", "-v", "version", type=int, help="Only this version (needs --subject).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json-schema", "avro", "confluent"]),
    default="json-schema",
    show_default=True,
    help="JSON Schema (draft 2020-12), an Avro schema (for Schema Registry producers), or "
    "`confluent`: what a registry accepts, the JSON Schema plus the rules as a ruleSet.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write <out>/<subject>/v<N>.schema.json (or .avsc) files instead of printing.",
)
def export(
    schemas_dir: Path, subject: str | None, version: int | None, fmt: str, out: Path | None
) -> None:
    """Write the JSON Schema or Avro equivalent of each contract."""
    from guard.contracts import load_registry
    from guard.contracts.avro import to_avro_schema

    registry = load_registry(schemas_dir)
    if version is not None and subject is None:
        raise click.UsageError("--version needs --subject")
    names = [subject] if subject else sorted(registry.subjects)
    selected = []
    for name in names:
        subj = registry.subject(name)
        if version is not None and version not in subj.versions:
            raise click.UsageError(f"subject {name!r} has no version {version}")
        versions = [version] if version is not None else sorted(subj.versions)
        selected += [subj.versions[v] for v in versions]
    from guard.contracts.export_confluent import to_confluent_schema

    avro = fmt == "avro"
    if avro:
        from guard.contracts.avro import invalid_avro_field
        from guard.errors import ContractError

        for contract in selected:
            bad = invalid_avro_field(contract.spec.fields)
            if bad is not None:
                raise ContractError(
                    contract.path,
                    "not an Avro name (letters, digits and '_' only): Avro's parser, and so "
                    "a Schema Registry, refuses the schema; rename the field to export it",
                    field=bad,
                )
    make = {"avro": to_avro_schema, "confluent": to_confluent_schema}.get(fmt)
    docs = [make(c) if make else c.json_schema for c in selected]
    if out is None:
        click.echo(json.dumps(docs[0] if len(docs) == 1 else docs, indent=2))
        return
    suffix = "avsc" if avro else "confluent.json" if fmt == "confluent" else "schema.json"
    for contract, doc in zip(selected, docs, strict=True):
        target = out / contract.subject / f"v{contract.version}.{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        click.echo(str(target))


@schemas.command("promote")
@schemas_dir_option
@click.option("--subject", "-s", required=True, help="The subject.")
@click.option("--version", "-v", "version", type=int, required=True, help="The candidate.")
def promote(schemas_dir: Path, subject: str, version: int) -> None:
    """Turn a `status: candidate` version into `active`, through the subject's
    compatibility check (subject.yaml). Exits 1, changing nothing, when it breaks the mode."""
    import sys

    from guard.contracts import load_registry
    from guard.shadow.promote import promote as run

    result = run(load_registry(schemas_dir), subject, version)
    if result.done:
        click.echo(f"{subject} v{version}: candidate -> active ({result.mode}: ok)")
        return
    click.echo(f"{subject} v{version}: not promoted, {len(result.breaks)} {result.mode} breaks")
    for b in result.breaks:
        click.echo(f"  v{b.old_version} -> v{b.new_version} {b.direction} {b.field}: {b.why}")
    sys.exit(1)


def _attach_compat_commands() -> None:
    from guard.cli.schemas_compat import check, diff, suggest
    from guard.cli.schemas_import import import_

    for command in (check, diff, suggest, import_):
        schemas.add_command(command)


_attach_compat_commands()
