"""Which quarantine topics a command reads with --config: a quarantine topic that does not
exist is said to be missing, never read as an empty quarantine (the in-memory broker)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from guard.cli.main import cli
from guard.transport.memory import MemoryBroker
from tests.fixtures.configs import guard_config, write_config

COMMANDS = [
    ["replay", "--yes"],
    ["replay", "--dry-run"],
    ["quarantine", "stats"],
    ["quarantine", "show"],
]


def _config(tmp_path: Path, *sources: str) -> Path:
    config = guard_config("memory:9092", sources[0], "g")
    config["topics"] = {source: {"subject": "orders"} for source in sources}
    return write_config(tmp_path / "guard.yaml", config)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_route_whose_quarantine_topic_does_not_exist_is_refused_with_exit_2(
    tmp_path: Path, memory_kafka: MemoryBroker, command: list[str]
) -> None:
    """Before: `guard replay --yes` on a route never run reported a replay of 0 records,
    exit 0, and created orders.quarantine.replay-state; stats and show an empty quarantine."""
    result = CliRunner().invoke(cli, [*command, "--config", str(_config(tmp_path, "orders"))])
    assert result.exit_code == 2, result.output
    assert "no such quarantine topic: orders.quarantine" in result.stderr
    assert sorted(memory_kafka.topics) == [], "nothing created"


def test_a_quarantine_topic_that_exists_but_is_empty_is_an_empty_quarantine(
    tmp_path: Path, memory_kafka: MemoryBroker
) -> None:
    memory_kafka.create("orders.quarantine")
    config = str(_config(tmp_path, "orders"))
    result = CliRunner().invoke(cli, ["replay", "--yes", "--json", "--config", config])
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.stdout)
    assert (report["passed"], report["still_failing"]) == (0, 0)


def test_a_route_with_no_quarantine_topic_is_skipped_with_a_warning_beside_one_that_has(
    tmp_path: Path, memory_kafka: MemoryBroker
) -> None:
    memory_kafka.create("orders.quarantine")
    config = str(_config(tmp_path, "orders", "payments"))
    result = CliRunner().invoke(cli, ["quarantine", "stats", "--json", "--config", config])
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.stdout)) == ["orders.quarantine"]
    assert "payments.quarantine" in result.stderr and "skipped" in result.stderr
