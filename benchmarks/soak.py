"""Soak: `guard run` for a long while at a steady input rate, with a fault every few minutes.

    python -m benchmarks.soak --minutes 30 --client confluent --brokers 3

A local cluster (`LocalKafkaCluster`: 3 nodes, RF 3, min.insync.replicas 2; or 1 node) takes
a steady mixed stream (valid and malformed records, unique keys, the fault suite's
`mixed_stream`) on a 3-partition source topic; one guard child processes it. Every
`--fault-every` seconds one fault, in turn:

- `guard-kill`: SIGKILL of the guard, restarted at once (same instance id);
- `broker-bounce`: a broker stopped (SIGTERM) and started in place, ready again;
- `leader-kill` (3 nodes): SIGKILL of the leader of source partition 0, restarted in place.

Every `--sample-every` seconds: the guard's resident memory (VmRSS) and the group's lag.
After each fault: seconds from its start until the guard's next commit, and until the group
has committed every record that was on the source when the fault was over ("caught up").
At the end the input stops, the group catches up, the guard is stopped with SIGTERM (exit 0
expected) and the fault suite's audit reads every output back: lost / duplicated / altered /
wrong verdict must all be 0.

Prints a figures table and writes the figures as JSON (`--out`). Not part of `make test`: it
takes as long as you ask. Needs the dev install (it reuses tests/faults' harness).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from guard.localbroker import LocalKafkaCluster
from tests.fixtures.guard_process import GuardProcess
from tests.integration.faults.cluster import leader
from tests.integration.faults.harness import (
    Input,
    audit,
    create_topic,
    group_lag,
    mixed_stream,
    wait_caught_up,
    write_config,
)

T = TypeVar("T")
FAULTS_SINGLE = ("guard-kill", "broker-bounce")
FAULTS_CLUSTER = ("guard-kill", "broker-bounce", "leader-kill")


@dataclass
class Sample:
    at_s: float  # since the soak started
    rss_mb: float | None  # the guard's VmRSS (None while it is down)
    lag: int | None  # the group's lag (None when the broker did not answer)
    produced: int


@dataclass
class Fault:
    kind: str
    at_s: float
    detail: str
    down_s: float = 0.0  # how long the fault itself lasted (a node down and back)
    commits_during: int | None = None  # transactions committed while it lasted (not kills)
    to_next_commit_s: float | None = None  # from the fault's start
    to_caught_up_s: float | None = None  # from the fault's start: see `Soak._measure_recovery`


@dataclass
class Figures:
    client: str
    brokers: int
    minutes: float
    rate: int
    produced: int = 0
    samples: list[Sample] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    unexpected_exits: list[str] = field(default_factory=list)
    audit: dict[str, Any] = field(default_factory=dict)
    final_exit: int | None = None
    catch_up_s: float | None = None
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def rss(self) -> dict[str, float]:
        """Start: the first sample a minute in (the first guard warmed up)."""
        warm = [s for s in self.samples if s.at_s >= 60] or self.samples
        values = [s.rss_mb for s in warm if s.rss_mb is not None]
        if not values:
            return {}
        return {"start": values[0], "end": values[-1], "max": max(values)}

    def lag_max(self) -> int:
        return max((s.lag for s in self.samples if s.lag is not None), default=0)


class Feed(threading.Thread):
    """Sends the mixed stream at `rate` records a second, round-robin over the partitions,
    until stopped; keeps each key's expected verdict. Idempotent, so a retried send never
    puts a second copy on the source (the audit counts source offsets)."""

    def __init__(self, bootstrap: str, topic: str, rate: int, seed: int) -> None:
        super().__init__(daemon=True)
        self.topic, self.rate = topic, rate
        self.expected: dict[bytes, str | None] = {}
        self.failed = 0
        self.stop = threading.Event()
        self._stream: Iterator[Input] = mixed_stream(10**9, seed=seed)
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=20,
            max_request_size=16 * 1024 * 1024,
        )

    def run(self) -> None:
        started = time.monotonic()
        for i in itertools.count():
            if self.stop.is_set():
                break
            due = started + i / self.rate
            if (wait := due - time.monotonic()) > 0:
                self.stop.wait(wait)
            rec = next(self._stream)
            future = self._producer.send(
                self.topic, key=rec.key, value=rec.value, headers=rec.headers, partition=i % 3
            )
            future.add_errback(self._failed)
            self.expected[rec.key] = rec.expected
        self._producer.flush(timeout=300)
        self._producer.close(timeout=30)

    def _failed(self, _exc: BaseException) -> None:
        self.failed += 1


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """Each partition's end offset (read_committed: the last stable offset)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level="read_committed", request_timeout_ms=15_000
    )
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return {tp.partition: int(end) for tp, end in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The group's committed offset per partition (fetched; the consumer never joins)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        request_timeout_ms=15_000,
    )
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return {tp.partition: consumer.committed(tp) or 0 for tp in tps}
    finally:
        consumer.close(autocommit=False)


def _retrying(ask: Callable[[], T]) -> T | None:
    """`ask` the brokers; None when they do not answer (a node restarting, an election)."""
    try:
        return ask()
    except Exception:
        return None


def first_commit_after(log: Path, since: float) -> float | None:
    """The epoch time of the guard's first "batch committed" line at or after `since`."""
    for line in log.read_text(errors="replace").splitlines():
        if '"batch committed"' not in line:
            continue
        try:
            stamp = dt.datetime.fromisoformat(json.loads(line)["timestamp"]).timestamp()
        except (ValueError, KeyError, TypeError):
            continue
        if stamp >= since:
            return stamp
    return None


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


class Soak:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args, self.work = args, work
        self.cluster = LocalKafkaCluster(args.brokers, work / "kafka")
        self.figures = Figures(args.client, args.brokers, args.minutes, args.rate)
        self.source, self.group = "soak-orders", "soak-guard"
        self.guard: GuardProcess | None = None
        self.guards_started = 0
        self.started = time.monotonic()
        self._lock = threading.Lock()

    def since(self) -> float:
        return time.monotonic() - self.started

    def start_guard(self) -> None:
        config = write_config(
            self.work,
            self.cluster.bootstrap_servers,
            self.source,
            self.group,
            self.args.client,
            log={"level": "DEBUG", "format": "json"},
        )
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self._lock:
            self.guard = GuardProcess(config, env, f"guard-{self.guards_started}")
            self.guards_started += 1

    def check_guard(self) -> None:
        """A guard that exited by itself is an incident: noted, and restarted."""
        guard = self.guard
        if guard is not None and guard.proc.poll() is not None:
            tail = guard.log.read_text(errors="replace")[-600:]
            note = f"{self.since():.0f}s: exit {guard.proc.returncode}: {tail}"
            self.figures.unexpected_exits.append(note)
            print(f"UNEXPECTED guard exit {note}", flush=True)
            self.start_guard()

    def sample(self) -> None:
        guard = self.guard
        rss = _rss_mb(guard.proc.pid) if guard and guard.proc.poll() is None else None
        lag = _retrying(lambda: group_lag(self.cluster.bootstrap_servers, self.group, self.source))
        self.figures.samples.append(
            Sample(round(self.since(), 1), rss, lag, len(self.feed.expected))
        )

    def _sample_until(self, done: threading.Event) -> None:
        while not done.is_set():
            self.sample()
            done.wait(self.args.sample_every)

    def run(self) -> Figures:
        with self.cluster:
            create_topic(self.cluster.bootstrap_servers, self.source, "kafka-python")
            self.feed = Feed(self.cluster.bootstrap_servers, self.source, self.args.rate, 15)
            self.feed.start()
            self.start_guard()
            self.started = time.monotonic()
            kinds = itertools.cycle(FAULTS_CLUSTER if self.args.brokers >= 3 else FAULTS_SINGLE)
            end = self.started + self.args.minutes * 60
            next_fault = self.started + self.args.fault_every
            sampling = threading.Event()
            sampler = threading.Thread(target=self._sample_until, args=(sampling,), daemon=True)
            sampler.start()  # its own thread: samples go on while a fault is under way
            while time.monotonic() < end:
                self.check_guard()
                if time.monotonic() >= next_fault:
                    self.fault(next(kinds))
                    next_fault = time.monotonic() + self.args.fault_every
                time.sleep(0.5)
            sampling.set()
            sampler.join(timeout=60)
            self.finish()
        return self.figures

    def fault(self, kind: str) -> None:
        guard = self.guard
        assert guard is not None
        commits = guard.commits()
        fault = Fault(kind, round(self.since(), 1), "")
        began, began_wall = time.monotonic(), time.time()
        print(f"{self.since():7.1f}s fault {kind}", flush=True)
        if kind == "guard-kill":
            guard.kill()
            self.start_guard()
            fault.detail = "SIGKILL, restarted at once"
        elif kind == "broker-bounce":
            node = 1 + len(self.figures.faults) % self.args.brokers
            self.cluster.kill_node(node, hard=False)
            self.cluster.start_node(node)
            fault.detail = f"node {node}: SIGTERM, started in place"
        else:
            node = leader(self.cluster.bootstrap_servers, self.source, 0)
            self.cluster.kill_node(node, hard=True)
            self.cluster.start_node(node)
            fault.detail = f"node {node} (leader of partition 0): SIGKILL, started in place"
        fault.down_s = round(time.monotonic() - began, 1)
        if kind != "guard-kill":
            fault.commits_during = guard.commits() - commits
        self.figures.faults.append(fault)
        self._measure_recovery(fault, began, began_wall)
        print(f"{self.since():7.1f}s {json.dumps(asdict(fault))}", flush=True)

    def _measure_recovery(self, fault: Fault, began: float, began_wall: float) -> None:
        """From the fault's start: to the guard's first commit after it (by the log's own
        timestamps, so a commit while a node is still down counts), and until the group has
        committed the source up to where it ended when the fault was over (the records sent
        meanwhile included); given up `--fault-every` seconds (at least 120) after its end."""
        bootstrap = self.cluster.bootstrap_servers
        target = _retrying(lambda: end_offsets(bootstrap, self.source))
        deadline = time.monotonic() + max(self.args.fault_every, 120.0)
        while time.monotonic() < deadline and (
            fault.to_next_commit_s is None or fault.to_caught_up_s is None
        ):
            self.check_guard()
            guard = self.guard
            assert guard is not None
            if fault.to_next_commit_s is None:
                stamp = first_commit_after(guard.log, began_wall)
                if stamp is not None:
                    fault.to_next_commit_s = round(stamp - began_wall, 1)
            if fault.to_caught_up_s is None and target is not None:
                done = _retrying(lambda: committed(bootstrap, self.group, self.source))
                if done is not None and all(done.get(p, 0) >= end for p, end in target.items()):
                    fault.to_caught_up_s = round(time.monotonic() - began, 1)
            time.sleep(0.5)

    def finish(self) -> None:
        self.feed.stop.set()
        self.feed.join(timeout=600)
        self.figures.produced = len(self.feed.expected)
        guard = self.guard
        assert guard is not None
        self.figures.catch_up_s = round(
            wait_caught_up(self.cluster.bootstrap_servers, self.group, self.source, 900, guard),
            1,
        )
        self.sample()
        guard.proc.terminate()
        guard.proc.wait(timeout=120)
        self.figures.final_exit = guard.proc.returncode
        found = audit(
            self.cluster.bootstrap_servers, self.source, "kafka-python", self.feed.expected
        )
        self.figures.audit = {
            "inputs": found.inputs,
            "lost": found.lost,
            "duplicated": found.duplicated,
            "altered": found.altered,
            "wrong_verdict": found.wrong_verdict,
            "produce_failed": self.feed.failed,
            "examples": found.examples,
        }
        self.figures.load_average = os.getloadavg()


def render(figures: Figures) -> str:
    """The figures table printed at the end (Markdown, pasted into docs/reliability.md)."""
    rss, a = figures.rss(), figures.audit
    lines = [
        f"soak: {figures.client}, {figures.brokers} broker(s), {figures.minutes:g} min at "
        f"{figures.rate} records/s, {len(figures.faults)} faults; load average at the end "
        + ", ".join(f"{x:.1f}" for x in figures.load_average),
        "",
        "| Figure | Value |",
        "|---|---|",
        f"| records produced (audited inputs) | {figures.produced:,} ({a.get('inputs', 0):,}) |",
        f"| lost / duplicated / altered / wrong verdict | {a.get('lost')} / "
        f"{a.get('duplicated')} / {a.get('altered')} / {a.get('wrong_verdict')} |",
        f"| guard RSS start / end / max | {rss.get('start', 0):.0f} / {rss.get('end', 0):.0f} / "
        f"{rss.get('max', 0):.0f} MB |",
        f"| consumer lag max (sampled) | {figures.lag_max():,} |",
        f"| catch-up after the input stopped | {figures.catch_up_s} s |",
        f"| unexpected guard exits | {len(figures.unexpected_exits)} |",
        f"| exit code on SIGTERM at the end | {figures.final_exit} |",
        "",
        "| # | At | Fault | Detail | Fault lasted | Commits meanwhile | To next commit "
        "| To caught up |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, f in enumerate(figures.faults, 1):
        lines.append(
            f"| {i} | {f.at_s:.0f} s | {f.kind} | {f.detail} | {f.down_s} s | "
            f"{'-' if f.commits_during is None else f.commits_during} | "
            f"{_s(f.to_next_commit_s)} | {_s(f.to_caught_up_s)} |"
        )
    return "\n".join(lines)


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--client", choices=["confluent", "kafka-python"], default="confluent")
    parser.add_argument("--brokers", type=int, choices=[1, 3], default=3)
    parser.add_argument("--rate", type=int, default=100, help="input records a second")
    parser.add_argument("--fault-every", type=float, default=180.0, help="seconds between faults")
    parser.add_argument("--sample-every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="guard-soak-"))
    try:
        figures = Soak(args, work).run()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work directory (guard logs, broker data): {work}")
    print(render(figures), flush=True)
    if args.out:
        args.out.write_text(json.dumps(asdict(figures), indent=1, default=str), encoding="utf-8")
    clean = not any(
        figures.audit.get(k) for k in ("lost", "duplicated", "altered", "wrong_verdict")
    )
    return 0 if clean and figures.final_exit == 0 and not figures.unexpected_exits else 1


if __name__ == "__main__":
    raise SystemExit(main())
