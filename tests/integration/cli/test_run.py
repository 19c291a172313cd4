"""`guard run` on a real broker: a missing source topic exits 2 and creates no topic."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.test_run import _run
from tests.fixtures.brokers import Broker
from tests.fixtures.paths import SCHEMAS


@pytest.mark.integration
def test_a_missing_source_topic_exits_2_and_creates_no_topic(
    kafka: Broker, unique: Callable[[str], str], tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    from guard.config import KafkaSettings
    from guard.transport.factory import open_reader

    source = unique("orders")
    config = tmp_path / "guard.yaml"
    config.write_text(
        json.dumps(
            {
                "kafka": {"bootstrap_servers": kafka.bootstrap_servers, "group_id": unique("g")},
                "schemas_dir": str(SCHEMAS),
                "topics": {source: {"subject": "orders"}},
            }
        )
    )
    proc = _run(config, subprocess_env, "--idle-timeout", "1")
    assert proc.returncode == 2, proc.stderr[-1500:]
    fatal = json.loads(proc.stderr.strip().splitlines()[-1])
    assert f"source topic {source} does not exist" in fatal["error"]
    reader = open_reader(KafkaSettings(bootstrap_servers=kafka.bootstrap_servers))
    try:
        for topic in (source, f"{source}.valid", f"{source}.quarantine"):
            assert reader.snapshot(topic) is None, f"{topic} was created"
    finally:
        reader.close()
