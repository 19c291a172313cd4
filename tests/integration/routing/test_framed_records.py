"""Records framed by confluent-kafka's own Avro and JSON serializers go through `guard run` on
the real broker and land valid or quarantined exactly once, with the right reasons."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer

from guard.localbroker import LocalKafka
from guard.verify import read_topic
from tests.fixtures.configs import guard_config, write_config
from tests.validation.wire_samples import Serializers, avro_order, order, schemas_with_ids

pytestmark = pytest.mark.integration


def test_framed_avro_and_json_records_land_exactly_once_with_their_reasons(
    kafka: LocalKafka,
    unique: Callable[[str], str],
    tmp_path: Path,
    kafka_client: str,
    subprocess_env: dict[str, str],
) -> None:
    bootstrap = kafka.bootstrap_servers
    avro_topic, json_topic = unique("orders-avro"), unique("orders-json")
    ser = Serializers()
    framed = ser.avro(avro_order())
    forged_id = framed[:1] + (77_777).to_bytes(4, "big") + framed[5:]
    cases: list[tuple[str, bytes, bytes, str | None]] = [
        (avro_topic, b"a-ok", framed, None),
        (avro_topic, b"a-bad", ser.avro(avro_order(coupon="no!")), "pattern_mismatch"),
        (avro_topic, b"a-id", forged_id, "unknown_schema_id"),
        (avro_topic, b"a-short", framed[:3], "truncated_frame"),
        (avro_topic, b"a-plain", json.dumps(order()).encode(), "bad_frame"),
        (avro_topic, b"a-junk", framed[:5] + b"\xff\xff\xff", "not_avro"),
        (json_topic, b"j-ok", ser.json(order()), None),
        (json_topic, b"j-bad", ser.json(order(quantity=0)), "out_of_range"),
        (json_topic, b"j-dup", ser.json(order())[:5] + b'{"a":1,"a":2}', "duplicate_key"),
    ]
    # One request in flight: with more, librdkafka can report records delivered that a fresh
    # topic never took (docs/reliability.md, "Records reported delivered but never written").
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "max.in.flight.requests.per.connection": 1,
        }
    )
    for topic, key, value, _ in cases:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0

    config = write_config(
        tmp_path / "guard.yaml",
        guard_config(
            bootstrap, avro_topic, unique("group"), kafka_client,
            schemas_dir=str(schemas_with_ids(tmp_path, {2: [ser.avro_id, ser.json_id]})),
            topics={
                avro_topic: {"subject": "orders", "payload_format": "confluent-avro"},
                json_topic: {"subject": "orders", "payload_format": "confluent-json"},
            },
        ),
    )  # fmt: skip
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "guard",
            "run",
            "--config",
            str(config),
            "--max-records",
            str(len(cases)),
            "--idle-timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        env=subprocess_env,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["records"] == len(cases)

    landed: dict[bytes | None, list[str | None]] = {}
    clean: dict[bytes | None, bytes | None] = {}
    for topic in (avro_topic, json_topic):
        for r in read_topic(bootstrap, f"{topic}.valid", client=kafka_client):
            landed.setdefault(r.key, []).append(None)
            clean[r.key] = r.value
        for r in read_topic(bootstrap, f"{topic}.quarantine", client=kafka_client):
            landed.setdefault(r.key, []).append(",".join(r.envelope["reasons"]))
    assert landed == {key: [reason] for _, key, _, reason in cases}
    assert clean[b"a-ok"] == framed  # the bytes as the producer framed them
