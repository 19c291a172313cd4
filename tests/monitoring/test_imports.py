"""The heavy libraries load only when monitoring runs: not for `guard --help`, not with
monitoring off (checked the way an operator would, with `python -X importtime`)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from guard.localbroker import LocalKafka
from tests.fixtures.configs import write_config
from tests.integration.monitoring.kafka_helpers import create_topic, produce
from tests.monitoring.streams import stream

HEAVY = {"numpy", "scipy", "datasketches", "_datasketches", "prometheus_client"}


def _imported(stderr: str) -> set[str]:
    """Top-level package names from `-X importtime` lines ("import time: self | cum | name")."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def test_guard_help_and_the_monitoring_commands_help_import_no_heavy_library() -> None:
    code = (
        "import guard.cli.baseline, guard.cli.drift_status, guard.config.settings\n"
        "from guard.cli.main import cli\n"
        "for args in (['--help'],):\n"
        "    try: cli(args)\n"
        "    except SystemExit: pass\n"
        "for command in (guard.cli.baseline.baseline, guard.cli.drift_status.status):\n"
        "    try: command(['--help'])\n"
        "    except SystemExit: pass\n"
    )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    )
    imported = _imported(done.stderr)
    assert "guard" in imported and "click" in imported, "importtime output was read"
    assert not imported & HEAVY


@pytest.mark.integration
def test_a_service_run_with_monitoring_off_imports_no_heavy_library(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    schemas: Path,
    subprocess_env: dict[str, str],
) -> None:
    source = unique("events")
    create_topic(kafka.bootstrap_servers, source, 1)
    produce(kafka.bootstrap_servers, source, stream(20, seed=1), 1, 1_700_000_000_000)
    config = write_config(
        tmp_path / "guard.yaml",
        {
            "kafka": {
                "client": kafka_client,
                "bootstrap_servers": kafka.bootstrap_servers,
                "group_id": unique("g"),
            },
            "schemas_dir": str(schemas),
            "topics": {source: {"subject": "events"}},
        },
    )
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "guard",
            "run",
            "-c",
            str(config),
            "--max-records",
            "20",
        ],
        capture_output=True,
        text=True,
        env=subprocess_env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["records"] == 20
    imported = _imported(done.stderr)
    client_module = "confluent_kafka" if kafka_client == "confluent" else "kafka"
    assert client_module in imported, "importtime output was read"
    # prometheus_client is a core dependency now: the service's own metrics are always kept.
    assert not imported & (HEAVY - {"prometheus_client"})


def test_a_missing_monitoring_library_is_a_config_error_with_an_install_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import guard.monitoring
    from guard.errors import ConfigError

    real = guard.monitoring.find_spec
    monkeypatch.setattr(
        guard.monitoring, "find_spec", lambda name: None if name == "datasketches" else real(name)
    )
    with pytest.raises(
        ConfigError, match=r"needs datasketches: pip install 'ingest-guard\[monitoring\]'"
    ):
        guard.monitoring.require_libraries()
