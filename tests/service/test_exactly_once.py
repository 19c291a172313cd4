"""The guard service on the real broker: nothing lost or duplicated across stops and crashes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient

from guard.config import load_settings
from guard.contracts import load_registry
from guard.demo.samples import Sample, sample_stream
from guard.localbroker import LocalKafka
from guard.service import GuardService
from guard.transport.kafka import KafkaPipe
from guard.verify import read_topic
from tests.conftest import SCHEMAS

pytestmark = pytest.mark.integration

PARTITIONS = 3


def _create(bootstrap: str, topic: str, partitions: int = PARTITIONS) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    admin.create_topics(
        {topic: {"num_partitions": partitions, "replication_factor": 1}},
        timeout_ms=30_000,
        wait_for_metadata=True,
    )
    admin.close()


def _produce(
    bootstrap: str, topic: str, samples: list[Sample], partitions: int = PARTITIONS
) -> dict[tuple[int, int], Sample]:
    """Produce the samples round-robin over partitions; map (partition, offset) -> sample."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", max_request_size=16 * 1024 * 1024
    )
    futures = [
        (
            producer.send(
                topic, key=s.key, value=s.value, headers=s.headers, partition=i % partitions
            ),
            s,
        )
        for i, s in enumerate(samples)
    ]
    producer.flush(timeout=60)
    placed = {}
    for fut, s in futures:
        meta = fut.get(timeout=30)
        placed[(meta.partition, meta.offset)] = s
    producer.close(timeout=10)
    return placed


def _config(tmp_path: Path, bootstrap: str, source: str, group: str, **extra: object) -> Path:
    config = {
        "kafka": {"bootstrap_servers": bootstrap, "group_id": group, "request_timeout_ms": 15000},
        "schemas_dir": str(SCHEMAS),
        "limits": {"max_bytes": 100_000},
        "batch": {"max_records": 40, "poll_timeout_ms": 200},
        "log": {"level": "DEBUG"},
        "topics": {source: {"subject": "orders"}},
        **extra,
    }
    path = tmp_path / "guard.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")  # JSON is valid YAML
    return path


def _start(config: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "guard", "run", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for_commits(proc: subprocess.Popen[str], batches: int, timeout: float = 120) -> None:
    """Block until the child has logged `batches` committed transactions."""
    assert proc.stderr is not None
    seen, deadline = 0, time.monotonic() + timeout
    while seen < batches:
        line = proc.stderr.readline()
        if not line:
            pytest.fail(f"guard exited early with {proc.wait()}")
        if time.monotonic() > deadline:
            pytest.fail("guard did not commit in time")
        if '"batch committed"' in line:
            seen += 1


def test_every_input_offset_lands_exactly_once_across_sigterm_and_sigkill(
    kafka: LocalKafka, unique: Callable[[str], str], tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    _create(bootstrap, source)
    samples = list(sample_stream(1200, bad_share=0.3, seed=11, large_bytes=150_000))
    placed = _produce(bootstrap, source, samples)
    by_key = {s.key: pos for pos, s in placed.items()}
    config = _config(tmp_path, bootstrap, source, unique("group"))

    # 1. Stop midway with SIGTERM: drains, commits and exits 0.
    first = _start(config, subprocess_env)
    _wait_for_commits(first, 3)
    first.send_signal(signal.SIGTERM)
    out, _ = first.communicate(timeout=60)
    assert first.returncode == 0
    stopped = json.loads(out.strip().splitlines()[-1])
    assert stopped["stopped_by"] == "SIGTERM" and 0 < stopped["records"] < len(samples)

    # 2. Crash midway with SIGKILL: the open transaction must never become visible.
    second = _start(config, subprocess_env)
    _wait_for_commits(second, 3)
    second.kill()
    second.wait(timeout=30)

    # 3. Run to the end.
    third = _start(config, subprocess_env, "--idle-timeout", "5")
    out, err = third.communicate(timeout=300)
    assert third.returncode == 0, err[-2000:]

    valid = read_topic(bootstrap, f"{source}.valid")
    quarantined = read_topic(bootstrap, f"{source}.quarantine")
    landed: Counter[tuple[int, int]] = Counter()
    verdicts: dict[tuple[int, int], str | None] = {}
    for r in valid:
        landed[by_key[r.key]] += 1
        verdicts[by_key[r.key]] = None
    for r in quarantined:
        src = r.envelope["source"]
        assert src["topic"] == source
        pos = (src["partition"], src["offset"])
        landed[pos] += 1
        verdicts[pos] = r.envelope["reasons"][0]
        assert r.key == placed[pos].key and r.value == placed[pos].value  # original bytes
    missing = sorted(set(placed) - set(landed))
    assert not missing, f"every input offset appears; missing {len(missing)}: " + str(
        Counter(placed[p].expected for p in missing)
    )
    assert [pos for pos, n in landed.items() if n != 1] == [], "and appears exactly once"
    assert verdicts == {pos: s.expected for pos, s in placed.items()}


def test_ten_megabyte_value_is_quarantined_intact_and_the_next_record_flows(
    kafka: LocalKafka, unique: Callable[[str], str], tmp_path: Path
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    _create(bootstrap, source, partitions=1)
    huge = b'{"order_id": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    good = next(s for s in sample_stream(50) if s.expected is None)
    _produce(bootstrap, source, [Sample(b"huge", huge, [], "too_large"), good], partitions=1)
    settings = load_settings(_config(tmp_path, bootstrap, source, unique("group"), limits={}))
    summary = GuardService(settings, load_registry(SCHEMAS), KafkaPipe(settings.kafka)).run(
        max_records=2
    )
    assert (summary.stats.valid, summary.stats.quarantined) == (1, 1)
    [q] = read_topic(bootstrap, f"{source}.quarantine")
    assert q.key == b"huge" and q.value == huge and q.envelope["reasons"] == ["too_large"]
    assert [r.key for r in read_topic(bootstrap, f"{source}.valid")] == [good.key]
