"""`guard run` on the real broker: /metrics scraped before and after traffic, /readyz, lag."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType

from guard.config import KafkaSettings
from guard.demo.samples import sample_stream
from guard.localbroker import LocalKafka
from guard.localbroker.broker import free_port
from guard.transport.kafka_python.admin import ensure_topics
from tests.fixtures.configs import guard_config, write_config
from tests.fixtures.guard_process import GuardProcess
from tests.integration.service.kafka_helpers import produce_in_transactions

pytestmark = pytest.mark.integration


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return int(resp.status), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except OSError:
        return 0, ""


def _sample(text: str, name: str, **labels: str) -> float | None:
    """One sample's value from the exposition text."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if m and m.group(1) == name:
            got = ",".join(sorted((m.group(2) or "").split(","))) if m.group(2) else ""
            if got == want:
                return float(m.group(3))
    return None


def _until(check: Callable[[], bool], proc: GuardProcess, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if proc.proc.poll() is not None:
            pytest.fail(f"guard exited: {proc.log.read_text()[-1500:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out; log tail: {proc.log.read_text()[-1500:]}")
        time.sleep(0.2)


def test_metrics_are_scraped_before_and_after_traffic(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), {source: 2})
    port = free_port()
    config = write_config(
        tmp_path / "guard.yaml",
        guard_config(
            bootstrap, source, unique("group"), kafka_client, kafka={"request_timeout_ms": 10000},
            batch={"max_records": 50, "poll_timeout_ms": 200},
            metrics={"port": port, "lag_seconds": 0.5}, log={"progress_seconds": 1},
        ),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    guard = GuardProcess(config, subprocess_env, "guard")
    try:
        _until(lambda: _get(f"{url}/readyz")[0] == 200, guard)
        lag_of = {"name": "guard_consumer_lag_records", "topic": source}
        _until(
            lambda: _sample(_get(f"{url}/metrics")[1], **lag_of, partition="0") is not None, guard
        )
        code, before = _get(f"{url}/metrics")
        assert code == 200 and _get(f"{url}/healthz")[0] == 200
        labels = {"topic": source, "subject": "orders"}
        # At 0 before the first record, so rate() sees the first batch.
        assert _sample(before, "guard_records_total", outcome="valid", **labels) == 0
        assert _sample(before, "guard_records_total", outcome="quarantined", **labels) == 0
        assert _sample(before, **lag_of, partition="0") == 0
        assert _sample(before, "process_resident_memory_bytes") is not None

        samples = list(sample_stream(200, bad_share=0.3, seed=5, large_bytes=50_000))
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        for s in samples:
            producer.send(source, key=s.key, value=s.value, headers=s.headers)
        producer.flush(timeout=60)
        producer.close(timeout=10)

        def counted() -> bool:
            text = _get(f"{url}/metrics")[1]
            valid = _sample(text, "guard_records_total", outcome="valid", **labels) or 0
            bad = _sample(text, "guard_records_total", outcome="quarantined", **labels) or 0
            return valid + bad == len(samples)

        _until(counted, guard)
        after = _get(f"{url}/metrics")[1]
        quarantined = _sample(after, "guard_records_total", outcome="quarantined", **labels)
        reasons = [
            float(line.rsplit(" ", 1)[1])
            for line in after.splitlines()
            if line.startswith("guard_quarantine_reasons_total{") and source in line
        ]
        assert quarantined and sum(reasons) >= quarantined
        assert _sample(after, "guard_end_to_end_latency_seconds_count") == len(samples)
        assert (_sample(after, "guard_commit_duration_seconds_count") or 0) >= 1
        assert (_sample(after, "guard_last_commit_timestamp_seconds") or 0) > time.time() - 120
        _until(
            lambda: (
                _sample(
                    _get(f"{url}/metrics")[1],
                    "guard_consumer_lag_records",
                    topic=source,
                    partition="1",
                )
                == 0
            ),
            guard,
        )
        _until(lambda: '"progress"' in guard.log.read_text(), guard)
    finally:
        guard.proc.terminate()
        guard.finish()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, f"{source}.quarantine")]
        )
    finally:
        admin.close()
    quarantine_configs = described["topic"][f"{source}.quarantine"]
    assert quarantine_configs["retention.ms"]["value"] == str(30 * 24 * 3600 * 1000)
    lines = guard.log.read_text().splitlines()
    assert all(line.startswith("{") for line in lines), "every stderr line is JSON"
    progress = [json.loads(line) for line in lines if '"progress"' in line]
    assert sum(p["records"] for p in progress) <= len(samples) and "lag" in progress[-1]


def test_lag_reads_zero_and_health_holds_once_a_source_ending_in_a_transaction_marker_is_read(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    """A source written by an upstream transactional producer ends with a commit marker, one
    offset past the last record. The guard's lag must still reach 0 once it has read
    everything: lag stuck at 1 would make /healthz fail on an idle guard (idle polls count as
    progress only without lag)."""
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), {source: 1})
    samples = list(sample_stream(50, bad_share=0.3, seed=5, large_bytes=50_000))
    placed, aborted = produce_in_transactions(bootstrap, source, samples, 10, abort_every=2)
    assert len(placed) == 30 and len(aborted) == 20  # transactions 2 and 4 aborted, 5 not
    port = free_port()
    config = write_config(
        tmp_path / "guard.yaml",
        guard_config(
            bootstrap, source, unique("group"), kafka_client, kafka={"request_timeout_ms": 10000},
            batch={"max_records": 50, "poll_timeout_ms": 200},
            metrics={"port": port, "lag_seconds": 0.5, "stall_seconds": 2, "ready_seconds": 2},
        ),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    labels = {"topic": source, "subject": "orders"}

    def drained() -> bool:
        text = _get(f"{url}/metrics")[1]
        valid = _sample(text, "guard_records_total", outcome="valid", **labels) or 0
        bad = _sample(text, "guard_records_total", outcome="quarantined", **labels) or 0
        lag = _sample(text, "guard_consumer_lag_records", topic=source, partition="0")
        return valid + bad == len(placed) and lag == 0

    guard = GuardProcess(config, subprocess_env, "guard")
    try:
        _until(drained, guard)

        # Then idle for longer than stall_seconds since the last commit: only idle polls
        # (counted as progress without lag) keep /healthz at 200 now.
        def idle_past_stall() -> bool:
            last = _sample(_get(f"{url}/metrics")[1], "guard_last_commit_timestamp_seconds")
            return last is not None and time.time() - last > 2 * 2

        _until(idle_past_stall, guard)
        code, body = _get(f"{url}/healthz")
        assert code == 200, body
    finally:
        guard.proc.terminate()
        guard.finish()


def test_a_spare_member_stays_live_on_a_quiet_source_ending_in_a_transaction_marker(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    """Two members, one partition: the spare owns nothing and judges the group's progress by
    its committed offsets against the end. An upstream transactional producer ends the log
    with a commit marker one past the last record, where the group's offset stops: that one
    offset is no record waiting, so a quiet stream keeps the spare live."""
    STALL_S = 8  # a group join under load takes seconds: not a stall
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), {source: 1})
    samples = list(sample_stream(20, bad_share=0.3, seed=5))
    placed, _ = produce_in_transactions(bootstrap, source, samples, 10, abort_every=100)
    group = unique("group")
    urls, guards = [], []
    try:
        for name in ("a", "b"):
            port = free_port()
            config = write_config(
                tmp_path / f"{name}.yaml",
                guard_config(
                    bootstrap, source, group, kafka_client,
                    kafka={"request_timeout_ms": 10000, "instance_id": f"{group}-{name}"},
                    batch={"max_records": 50, "poll_timeout_ms": 200},
                    metrics={"port": port, "lag_seconds": 0.5, "stall_seconds": STALL_S,
                             "ready_seconds": STALL_S},
                ),
            )  # fmt: skip
            urls.append(f"http://127.0.0.1:{port}")
            guards.append(GuardProcess(config, subprocess_env, name))

        def settled() -> tuple[str, str] | None:
            """(worker url, spare url) once the records are in and one member owns none."""
            texts = [_get(f"{u}/metrics")[1] for u in urls]
            owned = [_sample(t, "guard_assigned_partitions") for t in texts]
            counted = sum(
                _sample(t, "guard_records_total", topic=source, subject="orders", outcome=o) or 0
                for t in texts
                for o in ("valid", "quarantined")
            )
            if counted != len(placed) or sorted(owned) != [0, 1]:
                return None
            return (urls[0], urls[1]) if owned[0] == 1 else (urls[1], urls[0])

        _until(lambda: settled() is not None, guards[0])
        found = settled()
        assert found is not None
        _, spare = found
        time.sleep(2 * STALL_S)  # quiet for twice stall_seconds
        code, body = _get(f"{spare}/healthz")
        assert code == 200, body
        assert json.loads(body)["lag"] == 0
        text = _get(f"{spare}/metrics")[1]
        assert not _sample(text, "guard_rejoins_total", client=kafka_client, cause="stalled")
    finally:
        for g in guards:
            g.proc.terminate()
            g.finish()
