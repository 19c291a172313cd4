"""`guard quarantine report` on a real broker: its numbers are a read_committed count of the
quarantine topic (an aborted transaction's records left out), and its page renders offline in
headless Chromium showing those numbers."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaProducer

from guard.config import KafkaSettings, load_settings
from guard.contracts import load_registry
from guard.demo.samples import good_order
from guard.localbroker import LocalKafka
from guard.quarantine.envelope import Envelope, Source
from guard.service.build import build_service
from guard.transport.factory import ensure_topics
from guard.validation.reasons import FieldError, Reason
from guard.verify import read_topic
from tests.fixtures.configs import guard_config, write_config
from tests.fixtures.paths import SCHEMAS
from tests.reports.test_offline_browser import render

pytestmark = pytest.mark.integration
PARTITIONS = 3
PRODUCERS = {"billing": 0.6, "shop": 0.2, "app": 0.05}  # share of malformed records each


def _records(n: int) -> list[tuple[bytes, bytes, str]]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        producer = list(PRODUCERS)[i % len(PRODUCERS)]
        order = good_order(rng, version=2)
        if rng.random() < PRODUCERS[producer]:
            kind = rng.choice(["amount", "currency", "missing"])
            if kind == "amount":
                order["amount"] = "12.50"
            elif kind == "currency":
                order["currency"] = "XXX"
            else:
                del order["order_id"]
        out.append((f"{producer}:{i}".encode(), json.dumps(order).encode(), producer))
    return out


@pytest.fixture
def quarantined(
    kafka: LocalKafka, unique: Callable[[str], str], tmp_path: Path
) -> tuple[str, Path]:
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), {source: PARTITIONS})
    records = _records(900)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i, (key, value, name) in enumerate(records):
        producer.send(
            source,
            key=key,
            value=value,
            partition=i % PARTITIONS,
            headers=[("producer", name.encode())],
        )
    producer.flush(timeout=60)
    producer.close(timeout=10)
    config = write_config(tmp_path / "guard.yaml", guard_config(bootstrap, source, unique("group")))
    settings = load_settings(config)
    service = build_service(settings, load_registry(SCHEMAS))
    summary = service.run(max_records=len(records))
    assert summary.stats.quarantined > 0
    _abort_a_transaction(bootstrap, f"{source}.quarantine", unique("tx"))
    return source, config


def _abort_a_transaction(bootstrap: str, topic: str, tx_id: str) -> None:
    """Records with a full envelope, in a transaction that is aborted: a read_committed
    reader (and so the report) must not count them."""
    envelope = Envelope(
        Source(topic="x", partition=0, offset=0),
        "orders",
        (2,),
        (FieldError("aborted_field", Reason.WRONG_TYPE, "never committed"),),
        1,
        "2026-11-20T09:00:00Z",
    )
    producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=tx_id, acks="all")
    producer.init_transactions()
    producer.begin_transaction()
    for _ in range(25):
        producer.send(topic, value=b"{}", headers=list(envelope.headers()))
    producer.flush(timeout=60)
    producer.abort_transaction()
    producer.close(timeout=10)


def test_the_report_counts_what_a_read_committed_reader_sees_and_renders_offline(
    quarantined: tuple[str, Path], kafka: LocalKafka, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    source, config = quarantined
    out = tmp_path / "report"
    cmd = [sys.executable, "-m", "guard", "quarantine", "report", "--config", str(config)]
    cmd += ["--producer-header", "producer", "--producer-totals", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]

    committed = read_topic(kafka.bootstrap_servers, f"{source}.quarantine")
    reasons: Counter[str] = Counter()
    partitions: Counter[str] = Counter()
    producers: Counter[str] = Counter()
    for rec in committed:
        env = rec.envelope
        reasons.update(env["reasons"])
        partitions[f"{source}[{env['source']['partition']}]"] += 1
        producers.update(v.decode() for k, v in rec.headers if k == "producer" and v)
    data = json.loads((out / "report.json").read_text())
    [got] = data["sources"]
    assert got["records"] == len(committed) == data["records"]
    assert got["by_reason"] == dict(reasons)
    assert "aborted_field" not in got["by_field"]
    assert got["by_partition"] == dict(partitions)
    ranking = got["producers"]["ranking"]
    assert {r["producer"]: r["records"] for r in ranking} == dict(producers)
    # Ranked by quarantined / sent, the source topic counted read_committed too: the
    # producers were given 60%, 20% and 5% malformed records.
    assert [r["producer"] for r in ranking] == ["billing", "shop", "app"]
    assert all(r["sent"] == 300 for r in ranking)
    assert all(r["quarantine_rate"] == round(r["records"] / 300, 4) for r in ranking)
    plan = got["replay_plan"]
    assert plan["passed"] + plan["still_failing"] == len(committed)  # as guard replay --dry-run

    dom, requests = render(out / "report.html", tmp_path / "profile")
    assert requests == []
    assert re.search(rf'data-metric="records">{len(committed)}<', dom)
    for reason, n in reasons.items():
        assert re.search(rf'data-reason="{reason}">.*?data-count="{n}"', dom), reason
    assert len(re.findall(r"<svg\b", dom)) >= 5  # over time, by reason, field, version, partition
    billing = rf'data-producer="billing"><td>billing</td><td class="n">{ranking[0]["records"]}<'
    assert re.search(billing + r'/td><td class="n">300</td>', dom)

    # A time range with nothing in it: the same topic, no records.
    cmd += ["--since", "2099-01-01", "--out", str(tmp_path / "empty")]
    done = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    empty = json.loads((tmp_path / "empty" / "report.json").read_text())["sources"][0]
    assert empty["records"] == 0 and empty["filtered_out"] == len(committed)
