"""Replay on the real broker near what its targets accept: it applies the service's size and
timestamp rules (guard/replay/fit.py), so one record a target would refuse never wedges a
replay (before: every replay of that quarantine exited 3 and released nothing after it)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from guard.config.settings import GuardSettings
from guard.contracts import load_registry
from guard.demo.samples import good_order
from guard.localbroker import LocalKafka
from guard.routing.fit import H_OMITTED, record_size
from guard.service import build_service
from guard.transport.base import OutRecord
from guard.verify import ReadRecord, read_topic
from tests.fixtures.paths import SCHEMAS

pytestmark = pytest.mark.integration

LIMIT = 4000  # max.message.bytes of the small target


def _topic(bootstrap: str, name: str, configs: dict[str, str] | None = None) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name, 1, 1, topic_configs=configs or {})])
    finally:
        admin.close()


def _produce(
    bootstrap: str, topic: str, records: list[tuple[bytes, bytes]], stamps: list[int] | None = None
) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for i, (key, value) in enumerate(records):
            ts = stamps[i] if stamps else None
            producer.send(topic, key=key, value=value, partition=0, timestamp_ms=ts)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def _order(seed: int, pad: int = 0, **fields: Any) -> bytes:
    order = good_order(random.Random(seed), version=1)
    order.update(fields)
    if pad:
        order["customer_email"] = "a" * pad + "@example.com"
    return json.dumps(order).encode()


def _padded(seed: int, key: bytes, size: int, **fields: Any) -> bytes:
    """An order with `fields` whose record (`key`, the value, no headers) is `size` bytes by the
    guard's own estimate (guard/routing/fit.py)."""
    base = record_size(OutRecord("t", key, _order(seed, 1, **fields), []))
    return _order(seed, 1 + size - base, **fields)


def _guard(config: dict[str, Any], source: str, records: int) -> None:
    """The live guard with contract v1 only, until it has `records` (each quarantined)."""
    live = {**config, "topics": {source: {"subject": "orders", "accepted_versions": [1]}}}
    service = build_service(GuardSettings(**live), load_registry(SCHEMAS))
    summary = service.run(max_records=records, idle_timeout=120)
    assert summary.stats.quarantined == records


def _replay(config_path: Path, env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "guard", "replay", "--config", str(config_path), "--yes", "--json"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    [report] = json.loads(proc.stdout)
    return report  # type: ignore[no-any-return]


def _config(
    tmp_path: Path, bootstrap: str, client: str, group: str, source: str
) -> tuple[dict[str, Any], Path]:
    config = {
        "kafka": {"client": client, "bootstrap_servers": bootstrap, "group_id": group},
        "schemas_dir": str(SCHEMAS),
        "batch": {"max_records": 50, "poll_timeout_ms": 500},
        "topics": {source: {"subject": "orders"}},
    }
    path = tmp_path / "guard.yaml"
    path.write_text(json.dumps(config))
    return config, path


def _omitted(rec: ReadRecord) -> bool:
    return any(k == H_OMITTED for k, _ in rec.headers)


def test_a_passing_record_too_large_for_the_clean_topic_is_requeued_and_the_rest_released(
    kafka: LocalKafka,
    unique: Callable[[str], str],
    kafka_client: str,
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    """It fit the clean topic as it was sent; with replay's lineage headers it does not: it is
    requeued as `too_large_for_target`, the small ones go to the clean topic, exit 0 (twice)."""
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    _topic(bootstrap, source)
    _topic(bootstrap, f"{source}.valid", {"max.message.bytes": str(LIMIT)})
    near = _padded(4, b"near", LIMIT - 150, currency="CHF")  # passes v2 only
    smalls = [(b"small%d" % i, _order(i, currency="CHF")) for i in range(5)]
    _produce(bootstrap, source, [(b"near", near), *smalls])
    config, path = _config(tmp_path, bootstrap, kafka_client, unique("group"), source)
    _guard(config, source, 6)

    first = _replay(path, subprocess_env)
    assert (first["passed"], first["still_failing"]) == (5, 1)
    assert first["still_failing_by_reason"] == {"too_large_for_target": 1}
    clean = read_topic(bootstrap, f"{source}.valid", client=kafka_client)
    assert sorted(r.key for r in clean) == sorted(k for k, _ in smalls)
    quarantine = read_topic(bootstrap, f"{source}.quarantine", client=kafka_client)
    [requeued] = [r for r in quarantine if r.envelope["attempt"] == 2]
    assert (requeued.key, requeued.value) == (b"near", near), "bytes intact"
    assert requeued.envelope["reasons"] == ["too_large_for_target"]

    again = _replay(path, subprocess_env)
    assert (again["passed"], again["still_failing"]) == (0, 1), "requeued again, not stuck"


def test_a_requeued_copy_too_large_for_the_quarantine_topic_is_written_envelope_only(
    kafka: LocalKafka,
    unique: Callable[[str], str],
    kafka_client: str,
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    """Its quarantine copy fit; with a fresh envelope and the replay links it does not: the
    requeued copy leaves its value out (`guard.omitted`) and the next replay skips it as
    `value_omitted`; copies that still fit are requeued whole; the passing record is replayed."""
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    _topic(bootstrap, source)
    _topic(bootstrap, f"{source}.quarantine", {"max.message.bytes": str(LIMIT)})
    # Fail every version (amount is a string); with the live envelope, the copies of the
    # smaller ones fit the quarantine topic, the larger ones are written envelope-only.
    sizes = range(LIMIT - 1000, LIMIT - 400, 25)
    broken = [
        (b"b%04d" % size, _padded(size, b"b%04d" % size, size, amount="12.50")) for size in sizes
    ]
    _produce(bootstrap, source, [*broken, (b"chf", _order(1, currency="CHF"))])
    config, path = _config(tmp_path, bootstrap, kafka_client, unique("group"), source)
    _guard(config, source, len(broken) + 1)
    live = read_topic(bootstrap, f"{source}.quarantine", client=kafka_client)
    whole = {r.key for r in live if not _omitted(r)} - {b"chf"}

    first = _replay(path, subprocess_env)
    assert (first["passed"], first["still_failing"]) == (1, len(whole))
    assert first["skipped"] == {"value_omitted": len(broken) - len(whole)}
    assert [r.key for r in read_topic(bootstrap, f"{source}.valid", client=kafka_client)] == [
        b"chf"
    ]
    quarantine = read_topic(bootstrap, f"{source}.quarantine", client=kafka_client)
    requeued = [r for r in quarantine if r.envelope["attempt"] == 2]
    assert {r.key for r in requeued} == whole
    assert all(r.envelope["reasons"] == ["wrong_type"] for r in requeued)
    q = f"{source}.quarantine"
    assert all(record_size(OutRecord(q, r.key, r.value, r.headers)) <= LIMIT for r in requeued)
    shrunk = [r for r in requeued if _omitted(r)]
    assert shrunk and len(shrunk) < len(requeued), "some fit whole, some only envelope-only"
    assert all(not r.value for r in shrunk)

    again = _replay(path, subprocess_env)
    assert again["skipped"]["value_omitted"] == len(broken) - len(whole) + len(shrunk)


def test_a_passing_record_stamped_further_ahead_than_the_clean_topic_accepts_is_requeued(
    kafka: LocalKafka,
    unique: Callable[[str], str],
    kafka_client: str,
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    """The source takes records stamped days ahead, the clean topic one hour (Kafka 4's
    default): a record that now passes but keeps its timestamp would be refused, so it is
    requeued as `timestamp_outside_target`, stamped when written (the envelope keeps the
    original); the other record is released; exit 0, twice."""
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    _topic(bootstrap, source, {"message.timestamp.after.max.ms": str(10 * 86_400_000)})
    now = int(time.time() * 1000)
    ahead = now + 2 * 86_400_000
    records = [(b"ahead", _order(1, currency="CHF")), (b"now", _order(2, currency="CHF"))]
    _produce(bootstrap, source, records, [ahead, now])  # both pass v2 only
    config, path = _config(tmp_path, bootstrap, kafka_client, unique("group"), source)
    _guard(config, source, 2)

    first = _replay(path, subprocess_env)
    assert (first["passed"], first["still_failing"]) == (1, 1)
    assert first["still_failing_by_reason"] == {"timestamp_outside_target": 1}
    clean = read_topic(bootstrap, f"{source}.valid", client=kafka_client)
    assert [(r.key, r.timestamp_ms) for r in clean] == [(b"now", now)], "keeps its timestamp"
    quarantine = read_topic(bootstrap, f"{source}.quarantine", client=kafka_client)
    [requeued] = [r for r in quarantine if r.envelope["attempt"] == 2]
    assert (requeued.key, requeued.value) == records[0], "bytes intact"
    assert requeued.envelope["reasons"] == ["timestamp_outside_target"]
    assert requeued.envelope["source"]["timestamp_ms"] == ahead
    assert now <= requeued.timestamp_ms < ahead, "stamped when written"

    again = _replay(path, subprocess_env)
    assert (again["passed"], again["still_failing"]) == (0, 1), "requeued again, not stuck"
