"""Shadow rollout on the real broker: a candidate judged on live traffic changes no routing,
and `guard shadow status` (merged from the shadow topic) equals what the promoted version then
quarantines on the same input."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from guard.cli.main import cli
from guard.demo.samples import Sample, sample_stream
from guard.localbroker import LocalKafka
from guard.verify import read_topic
from tests.fixtures.guard_process import GuardProcess
from tests.integration.service.kafka_helpers import create, produce_samples, write_config
from tests.shadow.test_files import EXAMPLE, ROOT

pytestmark = pytest.mark.integration

PARTITIONS = 2


def _samples() -> list[Sample]:
    samples = [s for s in sample_stream(120, bad_share=0.3, seed=8) if s.value is not None]
    rules = (ROOT / "examples" / "data" / "orders-rules.jsonl").read_bytes().splitlines()
    for i, line in enumerate(rules * 5):
        samples.insert(7 * i + 3, Sample(b"rule-%d" % i, line, [], None))
    return samples


def _run(config: Path, env: dict[str, str], name: str, records: int) -> None:
    guard = GuardProcess(config, env, name, "--max-records", str(records), "--idle-timeout", "60")
    guard.finish()  # asserts exit 0; every record was committed (--max-records)


def test_shadow_counts_equal_the_promoted_versions_quarantine(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    create(bootstrap, source, PARTITIONS)
    samples = _samples()
    produce_samples(bootstrap, source, samples, PARTITIONS)
    schemas = tmp_path / "schemas"
    shutil.copytree(EXAMPLE, schemas)
    shadow_topic = unique("shadow")

    def config(name: str) -> Path:
        work = tmp_path / name
        work.mkdir()
        route = {
            "subject": "orders",
            "valid_topic": f"{source}.{name}.valid",
            "quarantine_topic": f"{source}.{name}.quarantine",
        }
        return write_config(
            work, bootstrap, source, unique(name), kafka_client,
            schemas_dir=str(schemas), shadow_topic=shadow_topic, topics={source: route},
        )  # fmt: skip

    shadowed = config("shadowed")
    _run(shadowed, subprocess_env, "shadowed", len(samples))
    result = CliRunner().invoke(cli, ["shadow", "status", "--config", str(shadowed), "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    [candidate] = status["candidates"]
    assert candidate["version"] == 3 and candidate["records"] == len(samples)
    # Routing followed the enforced version only: v3's rule failures went to the clean topic.
    kc = "confluent" if kafka_client == "confluent" else "kafka-python"
    before = read_topic(bootstrap, f"{source}.shadowed.quarantine", client=kc)
    # The two rule-breaking orders, five times. (Records whose header names v2 are also new
    # quarantines: under `latest`, promoting v3 stops accepting a header naming v2.)
    assert candidate["by_reason"]["rule_failed"] == 10
    assert len(before) == candidate["would_quarantine"] - candidate["newly_quarantined"]
    assert len(candidate["samples"]) <= 20
    assert {s["topic"] for s in candidate["samples"]} == {source}

    promote = ["schemas", "promote", "--schemas-dir", str(schemas), "-s", "orders", "-v", "3"]
    assert CliRunner().invoke(cli, promote).exit_code == 0
    promoted = config("promoted")
    _run(promoted, subprocess_env, "promoted", len(samples))
    after = read_topic(bootstrap, f"{source}.promoted.quarantine", client=kc)
    assert len(after) == candidate["would_quarantine"]
    reasons: Counter[str] = Counter()
    for r in after:
        reasons.update(r.envelope["reasons"])
    assert dict(reasons) == candidate["by_reason"]
