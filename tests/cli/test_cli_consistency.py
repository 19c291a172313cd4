"""One meaning per short flag across commands, and every command in the README's exit-code table."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import click

from guard.cli.main import cli
from tests.fixtures.paths import REPO


def _leaves(group: click.Group, prefix: str = "guard") -> dict[str, click.Command]:
    out: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            out.update(_leaves(command, path))
        else:
            out[path] = command
    return out


def test_each_short_flag_means_the_same_long_option_in_every_command() -> None:
    meanings: dict[str, set[str]] = defaultdict(set)
    for command in _leaves(cli).values():
        for param in command.params:
            if isinstance(param, click.Option):
                longs = [o for o in param.opts if o.startswith("--")]
                for short in (o for o in param.opts if re.fullmatch(r"-\w", o)):
                    meanings[short].update(longs)
    assert meanings["-c"] == {"--config"}
    assert {k: v for k, v in meanings.items() if len(v) > 1} == {}


def test_every_command_has_a_row_in_the_readme_exit_code_table() -> None:
    readme = (REPO / "README.md").read_text()
    table = readme.split("### Exit codes", 1)[1].split("\n\n#", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `guard ")]
    listed: set[str] = set()
    for row in rows:
        cell = row.split("|")[1]
        for name in re.findall(r"`(guard [\w ]+?)`", cell):
            listed.add(name)
        base = re.match(r"\s*`(guard \w+) ", cell)
        for extra in re.findall(r", `(\w+)`", cell):  # `guard schemas list`, `export`, ...
            assert base is not None
            listed.add(f"{base.group(1)} {extra}")
    leaves = set(_leaves(cli))
    assert leaves - listed == set(), "commands missing from the README table"
    assert listed - leaves == set(), "README rows for commands that do not exist"


def test_every_command_exits_2_on_a_usage_error() -> None:
    from click.testing import CliRunner

    for path in _leaves(cli):
        args = path.split()[1:]
        result = CliRunner().invoke(cli, [*args, "--no-such-option"])
        assert result.exit_code == 2, f"{path}: {result.exit_code} {result.output[-300:]}"


def test_every_command_with_a_config_option_exits_2_on_a_broken_config(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    config = tmp_path / "guard.yaml"
    config.write_text("kafka: {sasl_mechanism: PLAN}\ntopics: {t: {subject: orders}}\n")
    for path, args in _config_commands(tmp_path).items():
        result = CliRunner().invoke(cli, [*args, "-c", str(config)], env={})
        assert result.exit_code == 2, f"{path}: {result.exit_code} {result.output[-300:]}"
        assert "kafka.sasl_mechanism" in result.output, path


def _config_commands(tmp_path: Path) -> dict[str, list[str]]:
    """Every command with a `--config` option: its arguments, with what it needs besides."""
    data = tmp_path / "data.jsonl"
    data.write_text("{}\n")
    needs = {
        "guard replay": ["--dry-run"],
        "guard baseline build": ["-s", "orders", str(data)],
        "guard quarantine report": ["--out", str(tmp_path / "report")],
    }
    return {
        path: [*path.split()[1:], *needs.get(path, [])]
        for path, command in _leaves(cli).items()
        if any("--config" in getattr(p, "opts", []) for p in command.params)
    }


def test_every_command_with_a_config_option_refuses_a_bad_client_property_with_exit_2(  # type: ignore[no-untyped-def]
    tmp_path,
) -> None:
    """Every command loads its config through the chosen client's property check, so none
    gets as far as a connection with a property the client would refuse."""
    from click.testing import CliRunner

    config = tmp_path / "guard.yaml"
    config.write_text(
        "kafka: {bootstrap_servers: '127.0.0.1:1', request_timeout_ms: 1000,"
        " consumer_properties: {fetch_speed: 9}}\ntopics: {t: {subject: orders}}\n"
    )
    checked = []
    for path, args in _config_commands(tmp_path).items():
        result = CliRunner().invoke(cli, [*args, "-c", str(config)], env={})
        assert result.exit_code == 2, f"{path}: {result.exit_code} {result.output[-300:]}"
        refusal = "kafka.consumer_properties: kafka-python has no consumer property 'fetch_speed'"
        assert refusal in result.output, path
        checked.append(path)
    assert "guard run" in checked and "guard config check" in checked


def test_readme_exit_code_table_lists_exit_1_for_schemas_diff_and_suggest(
    tmp_path: Path,
) -> None:
    """Both exit 1 (a step that breaks the mode; no version passes it): the table says so."""
    from click.testing import CliRunner

    readme = (REPO / "README.md").read_text()
    table = readme.split("### Exit codes", 1)[1].split("\n\n#", 1)[0]
    exit_1 = {}
    for row in table.splitlines():
        cells = row.split("|")
        for name in re.findall(r"`(guard [\w ]+?)`", cells[1] if len(cells) > 3 else ""):
            exit_1[name] = cells[3].strip()
    assert exit_1["guard schemas diff"] not in ("", "—")
    assert exit_1["guard schemas suggest"] not in ("", "—")
    # and they do: v1 -> v2 of the examples breaks FORWARD
    schemas = tmp_path / "schemas"
    (schemas / "orders").mkdir(parents=True)
    for name in ("v1.yaml", "v2.yaml"):
        (schemas / "orders" / name).write_text((REPO / "schemas" / "orders" / name).read_text())
    (schemas / "orders" / "subject.yaml").write_text("compatibility: FULL\n")
    result = CliRunner().invoke(cli, ["schemas", "diff", "--schemas-dir", str(schemas),
                                      "orders", "v1", "v2"])  # fmt: skip
    assert result.exit_code == 1, result.output
