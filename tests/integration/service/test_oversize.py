"""Records too large for their target topic on the real broker: nothing stops, nothing is
dropped; what could not be written whole is quarantined or written envelope-only."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from guard.demo.samples import Sample, good_order, sample_stream
from guard.localbroker import LocalKafka
from tests.fixtures.guard_process import GuardProcess
from tests.integration.service.kafka_helpers import (
    assert_each_offset_once,
    create,
    outputs,
    produce_samples,
    write_config,
)

pytestmark = pytest.mark.integration

CLEAN_LIMIT, QUARANTINE_LIMIT = 20_000, 40_000


def _big_valid() -> bytes:
    """A valid v2 order of about 35 kB (500 items with long SKUs)."""
    order = good_order(random.Random(5), 2)
    order["items"] = [{"sku": f"SKU-{i}-" + "x" * 40, "qty": 1} for i in range(500)]
    return json.dumps(order).encode()


def test_one_record_too_large_for_each_target_is_handled_and_everything_lands(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    create(bootstrap, source, 3)
    create(bootstrap, f"{source}.valid", 3, {"max.message.bytes": str(CLEAN_LIMIT)})
    create(bootstrap, f"{source}.quarantine", 3, {"max.message.bytes": str(QUARANTINE_LIMIT)})
    normal = list(sample_stream(120, bad_share=0.3, seed=9, large_bytes=5_000))
    big_bad = b"not json " + b"x" * 60_000
    big_valid = _big_valid()
    samples = [
        *normal[:50],
        Sample(b"big-valid", big_valid, [("schema-version", b"2")], None),
        Sample(b"big-bad", big_bad, [("trace", b"t-1")], "not_json"),
        *normal[50:],
    ]
    placed = produce_samples(bootstrap, source, samples, partitions=3)
    config = write_config(tmp_path, bootstrap, source, unique("group"), kafka_client)

    # Stops on its record count, not on a quiet spell a busy machine can also make.
    n = str(len(samples))
    summary = GuardProcess(
        config, subprocess_env, "oversize", "--max-records", n, "--idle-timeout", "120"
    ).finish()
    assert summary["records"] == len(samples)
    assert_each_offset_once(bootstrap, source, placed, kafka_client)

    _, quarantined = outputs(bootstrap, source, kafka_client)
    by_key = {r.key: r for r in quarantined}
    # Valid, but larger than the clean topic takes: quarantined with its bytes intact.
    moved = by_key[b"big-valid"]
    assert moved.value == big_valid and moved.envelope["reasons"] == ["too_large_for_target"]
    # Malformed and larger than the quarantine topic takes: envelope-only, described.
    shrunk = by_key[b"big-bad"]
    headers = {k: v for k, v in shrunk.headers}
    assert shrunk.value == b"" and shrunk.envelope["reasons"] == ["not_json"]
    assert headers["guard.omitted"] == b"value"
    assert headers["guard.omitted.value.size"] == str(len(big_bad)).encode()
    assert headers["guard.omitted.value.sha256"] == hashlib.sha256(big_bad).hexdigest().encode()
    assert headers["trace"] == b"t-1"
    src = shrunk.envelope["source"]
    assert src["topic"] == source and src["partition"] is not None
    # Each one is logged with its source coordinates and what was done.
    logged = [
        json.loads(line)
        for line in (tmp_path / "oversize.stderr").read_text().splitlines()
        if '"record too large for its target"' in line
    ]
    actions = {(e["source_partition"], e["source_offset"]): e["action"] for e in logged}
    position = {s.key: pos for pos, s in placed.items()}
    assert actions[position[b"big-valid"]] == "quarantined"
    assert actions[position[b"big-bad"]] == "envelope-only"


def test_a_limit_lowered_while_running_is_met_after_one_refusal(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    """The pre-check uses the limit read at start; the broker refuses the record, the
    batch is retried with the limits read again, and the record lands envelope-only."""
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    quarantine = f"{source}.quarantine"
    create(bootstrap, source, 1)
    create(bootstrap, quarantine, 1, {"max.message.bytes": "1048576"})
    first = list(sample_stream(100, bad_share=0.3, seed=4, large_bytes=5_000))
    placed = produce_samples(bootstrap, source, first, partitions=1)
    config = write_config(
        tmp_path, bootstrap, source, unique("group"), kafka_client, batch={"max_records": 10}
    )
    guard = GuardProcess(config, subprocess_env, "lowered", "--idle-timeout", "8")
    guard.wait_for_commits(3)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    try:
        admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, quarantine, {"max.message.bytes": "20000"})]
        )
    finally:
        admin.close()
    big_bad = b"not json " + b"y" * 60_000
    placed.update(
        produce_samples(bootstrap, source, [Sample(b"big-bad", big_bad, [], "not_json")], 1)
    )
    guard.finish()
    assert_each_offset_once(bootstrap, source, placed, kafka_client)
    _, quarantined = outputs(bootstrap, source, kafka_client)
    [shrunk] = [r for r in quarantined if r.key == b"big-bad"]
    assert shrunk.value == b"" and dict(shrunk.headers)["guard.omitted"] == b"value"
    log = guard.log.read_text()
    refused = ("MessageSizeTooLarge", "MSG_SIZE_TOO_LARGE")  # kafka-python's / librdkafka's name
    assert any(name in log for name in refused), "the broker refused it once"
