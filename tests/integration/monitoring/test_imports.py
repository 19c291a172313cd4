"""The heavy libraries load only when monitoring runs: a `guard run` on the real broker with
monitoring off imports none of them (checked with `python -X importtime`)."""

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
from tests.monitoring.test_imports import HEAVY, _imported


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
