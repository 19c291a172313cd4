"""One contender on one input: run it as a child, time its steady state, verify its output."""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import topics
from benchmarks.child import ChildRun, run_child
from benchmarks.contenders import Contender, Job
from benchmarks.verify import read_back

REPO = Path(__file__).resolve().parents[1]
# A contender that cannot start in this build (a transport or library not installed) is
# reported as unavailable, with its error, rather than as a failure of the code under test.
_UNAVAILABLE = re.compile(r"not available in this build|No module named|ModuleNotFoundError")


@dataclass
class Result:
    contender: str
    family: str
    dataset: str
    round: int
    records: int  # the input size
    status: str = "ok"  # ok | FAILED | unavailable
    error: str = ""
    rate: float = 0.0  # records/s, steady state
    cpu_per_million: float = 0.0  # CPU seconds per 1M records, steady state
    peak_rss_mb: float = 0.0
    wall_seconds: float = 0.0
    out_valid: int | None = None  # records read back (read_committed)
    out_invalid: int | None = None
    distinct_keys: int | None = None
    expected_valid: int = 0
    verdicts_agree: bool | None = None  # valid/invalid split equals the dataset's
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def child_env() -> dict[str, str]:
    """The harness's environment without GUARD_* service settings (the config file rules)."""
    keep = {"GUARD_KAFKA_CACHE", "GUARD_KAFKA_VERSION"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUARD_") or k in keep}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def race(contender: Contender, job: Job, result: Result, timeout: float) -> ChildRun | None:
    """Run `contender` on `job`, filling `result`; the child run is returned for more analysis."""
    topics.create(job.bootstrap, [job.valid, job.dlq])
    stderr = job.workdir / f"{job.group}.stderr"
    run = run_child(
        contender.command(job), cwd=REPO, env=child_env(), stderr_path=stderr, timeout=timeout
    )
    result.wall_seconds = round(run.wall_seconds, 2)
    result.peak_rss_mb = round(run.peak_rss / 2**20, 1)
    if run.returncode != 0:
        tail = run.stderr_tail()
        unavailable = _UNAVAILABLE.search(tail)
        result.status = "unavailable" if unavailable else "FAILED"
        result.error = f"exit {run.returncode}: " + _last_error(tail)
        return None
    try:
        timing = contender.timing(run)
    except (ValueError, KeyError, IndexError) as exc:
        result.status, result.error = "FAILED", f"no timing in its output: {exc!r}"
        return run
    steady = timing.records - timing.n_first
    result.rate = round(timing.rate, 1)
    if steady > 0:
        cpu = run.cpu_seconds - run.cpu_at(timing.t_first)
        result.cpu_per_million = round(cpu / steady * 1e6, 1)
    verify(contender, job, result, timing.records)
    return run


def verify(contender: Contender, job: Job, result: Result, handled: int) -> None:
    """Every input record exactly once in the outputs, else the contender FAILS."""
    problems = []
    if contender.writes == "nothing":
        if handled != job.records:
            problems.append(f"read {handled} of {job.records} records")
    else:
        outputs = [job.valid] if contender.writes == "copy" else [job.valid, job.dlq]
        counts = read_back(job.bootstrap, outputs)
        total = sum(c.records for c in counts.values())
        distinct = sum(c.distinct_keys for c in counts.values())  # keys are unique per input
        result.out_valid = counts[job.valid].records
        result.out_invalid = counts[job.dlq].records if job.dlq in counts else None
        result.distinct_keys = distinct
        if total < job.records:
            problems.append(f"lost {job.records - total} records")
        if total > distinct:
            problems.append(f"duplicated {total - distinct} records")
        if distinct > job.records:
            problems.append(f"{distinct} distinct keys for {job.records} inputs")
        if contender.writes == "split":
            result.verdicts_agree = result.out_valid == result.expected_valid
    if problems:
        result.status, result.error = "FAILED", "; ".join(problems)


def _last_error(tail: str) -> str:
    lines = [ln for ln in tail.splitlines() if ln.strip()]
    for line in reversed(lines):
        if "Error" in line or "error" in line:
            return line.strip()[:300]
    return (lines[-1] if lines else "no output")[:300]
