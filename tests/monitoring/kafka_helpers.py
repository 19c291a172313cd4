"""Helpers for monitoring tests on the real broker: topics, producing, `guard run` children."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    try:
        admin.create_topics(
            {topic: {"num_partitions": partitions, "replication_factor": 1}},
            timeout_ms=30_000,
            wait_for_metadata=True,
        )
    finally:
        admin.close()


def produce(
    bootstrap: str, topic: str, values: list[bytes], partitions: int, t0_ms: int, step_ms: int = 10
) -> None:
    """Round-robin over partitions, with record timestamps t0 + i * step (a steady rate)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    try:
        for i, value in enumerate(values):
            producer.send(
                topic,
                key=str(i).encode(),
                value=value,
                partition=i % partitions,
                timestamp_ms=t0_ms + i * step_ms,
            )
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=10)


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(json.dumps(config), encoding="utf-8")  # JSON is valid YAML
    return path


class GuardProcess:
    """A `guard run` child; stderr goes to a file so a full pipe never blocks it."""

    def __init__(self, config: Path, env: dict[str, str], name: str, *args: str) -> None:
        self.log = config.parent / f"{name}.stderr"
        self._err = self.log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "guard", "run", "--config", str(config), *args],
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
            env=env,
        )

    def wait_for_commits(self, batches: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.log.read_text().count('"batch committed"') < batches:
            if self.proc.poll() is not None:
                pytest.fail(f"guard exited early: {self.log.read_text()[-1500:]}")
            if time.monotonic() > deadline:
                pytest.fail("guard did not commit in time")
            time.sleep(0.05)

    def finish(self, timeout: float = 240) -> dict[str, Any]:
        out, _ = self.proc.communicate(timeout=timeout)
        self._err.close()
        assert self.proc.returncode == 0, self.log.read_text()[-2000:]
        summary: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return summary
