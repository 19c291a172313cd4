"""Who races: the ceilings (raw clients), the guard on each transport with monitoring off and
on, and its peers. Each builds the command line of its child process and reads its timing."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from benchmarks.child import ChildRun

Family = Literal["ceiling", "guard", "peer"]


@dataclass(frozen=True)
class Job:
    """One contender's run on one input: where it reads and writes, how far it goes."""

    bootstrap: str
    source: str
    valid: str
    dlq: str
    group: str
    records: int
    batch: int
    idle: float
    workdir: Path
    json_schemas: Path
    schemas: Path


@dataclass(frozen=True)
class Timing:
    """The steady state: records committed between the first and the last commit."""

    records: int
    n_first: int
    t_first: float
    t_last: float
    valid: int | None = None
    invalid: int | None = None

    @property
    def rate(self) -> float:
        span = self.t_last - self.t_first
        return (self.records - self.n_first) / span if span > 0 else 0.0


@dataclass(frozen=True)
class Contender:
    name: str
    family: Family
    client: str  # kafka-python | confluent
    writes: Literal["nothing", "copy", "split"]
    command: Callable[[Job], list[str]]
    timing: Callable[[ChildRun], Timing]
    note: str = ""


def _peer(module: str, mode: str | None = None) -> Callable[[Job], list[str]]:
    def command(job: Job) -> list[str]:
        cmd = [sys.executable, "-m", f"benchmarks.peers.{module}"]
        cmd += ["--bootstrap", job.bootstrap, "--source", job.source, "--group", job.group]
        cmd += ["--valid", job.valid, "--dlq", job.dlq, "--records", str(job.records)]
        cmd += ["--batch", str(job.batch), "--idle", str(job.idle)]
        cmd += ["--schemas", str(job.json_schemas), "--state-dir", str(job.workdir / "state")]
        return [*cmd, "--mode", mode] if mode else cmd

    return command


def _peer_timing(run: ChildRun) -> Timing:
    line = run.stdout.strip().splitlines()[-1]
    got: dict[str, Any] = json.loads(line)
    return Timing(
        got["records"], got["n_first"], got["t_first"], got["t_last"], got["valid"], got["invalid"]
    )


def _guard(client: str, monitoring: bool, rules: bool = False) -> Callable[[Job], list[str]]:
    def command(job: Job) -> list[str]:
        schemas = job.schemas
        if rules:  # orders v2 with the three rules of examples/rules (benchmarks/rules.py)
            from benchmarks.rules import rules_schemas

            schemas = rules_schemas(job.workdir / f"{job.group}.schemas")
        config: dict[str, Any] = {
            "kafka": {
                "client": client,
                "bootstrap_servers": job.bootstrap,
                "group_id": job.group,
                "instance_id": "bench",
            },
            "schemas_dir": str(schemas),
            "batch": {"max_records": job.batch, "poll_timeout_ms": 1000},
            "log": {"level": "DEBUG", "format": "json"},  # "batch committed" lines time it
            "topics": {
                job.source: {
                    "subject": "orders",
                    # The input names v1 and v2 in its headers; the peers accept both.
                    "accepted_versions": "all",
                    "valid_topic": job.valid,
                    "quarantine_topic": job.dlq,
                }
            },
            "monitoring": {
                "enabled": monitoring,
                "profiles_topic": f"{job.group}.profiles",
                "drift_topic": f"{job.group}.drift",
                "baseline": {"source": "learn", "save": False},  # leave schemas/ alone
            },
        }
        path = job.workdir / f"{job.group}.yaml"
        path.write_text(json.dumps(config, indent=2))
        cmd = [sys.executable, "-m", "guard", "run", "--config", str(path)]
        return [*cmd, "--max-records", str(job.records), "--idle-timeout", str(job.idle)]

    return command


def _guard_timing(run: ChildRun) -> Timing:
    commits: list[tuple[float, int]] = []
    with run.stderr_path.open(errors="replace") as lines:
        for line in lines:
            if '"batch committed"' not in line:
                continue
            event = json.loads(line)
            at = datetime.fromisoformat(event["timestamp"]).timestamp()
            commits.append((at, int(event["records"])))
    summary: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    if not commits:
        return Timing(summary["records"], 0, 0.0, 0.0)
    return Timing(
        records=sum(n for _, n in commits),
        n_first=commits[0][1],
        t_first=commits[0][0],
        t_last=commits[-1][0],
        valid=summary["valid"],
        invalid=summary["quarantined"],
    )


CONTENDERS: tuple[Contender, ...] = (
    Contender("kafka-python consume", "ceiling", "kafka-python", "nothing",
              _peer("raw_kafka_python", "consume"), _peer_timing),
    Contender("kafka-python tx copy", "ceiling", "kafka-python", "copy",
              _peer("raw_kafka_python", "copy"), _peer_timing),
    Contender("confluent consume", "ceiling", "confluent", "nothing",
              _peer("raw_confluent", "consume"), _peer_timing),
    Contender("confluent tx copy", "ceiling", "confluent", "copy",
              _peer("raw_confluent", "copy"), _peer_timing),
    Contender("confluent tx copy, flush", "ceiling", "confluent", "copy",
              _peer("raw_confluent", "copy-flush"), _peer_timing,
              "flushes the producer before sending offsets"),
    Contender("guard kafka-python", "guard", "kafka-python", "split",
              _guard("kafka-python", False), _guard_timing),
    Contender("guard kafka-python +mon", "guard", "kafka-python", "split",
              _guard("kafka-python", True), _guard_timing, "monitoring on"),
    Contender("guard confluent", "guard", "confluent", "split",
              _guard("confluent", False), _guard_timing),
    Contender("guard confluent +mon", "guard", "confluent", "split",
              _guard("confluent", True), _guard_timing, "monitoring on"),
    Contender("guard kafka-python +rules", "guard", "kafka-python", "split",
              _guard("kafka-python", False, rules=True), _guard_timing, "three contract rules"),
    Contender("guard confluent +rules", "guard", "confluent", "split",
              _guard("confluent", False, rules=True), _guard_timing, "three contract rules"),
    Contender("hand-written jsonschema", "peer", "kafka-python", "split",
              _peer("handwritten"), _peer_timing, "at-least-once"),
    Contender("Quix Streams EOS", "peer", "confluent", "split",
              _peer("quix_app"), _peer_timing, "exactly-once, pydantic"),
)  # fmt: skip


def by_name(name: str) -> Contender:
    return next(c for c in CONTENDERS if c.name == name)
