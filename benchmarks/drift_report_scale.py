"""`guard drift report` at scale: time and peak memory for N baseline + N current records.

    python benchmarks/drift_report_scale.py [--records 1000000] [--dir build/scale]

Writes two JSON Lines files of seeded `orders` v2 records (stable baseline; current with
the amount shifted by 0.5 sd), streamed to disk (kept for reruns), then runs the report as a
child process and prints its wall time, peak RSS (getrusage of the child) and verdict.
The report's memory is bounded by fields x sketch size plus fixed-size samples, so the peak
should not grow with N.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from guard.reports.calibrate import CASES, order

REPO = Path(__file__).resolve().parents[1]


def write(path: Path, n: int, case: str, seed: int) -> None:
    if path.is_file() and path.stat().st_size > 0:
        return
    rng = random.Random(seed)
    spec = CASES[case]
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for _ in range(n):
            o = order(rng)
            if spec is not None:
                spec[1](o, rng)
            fh.write(json.dumps(o, separators=(",", ":")) + "\n")
    tmp.rename(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=REPO / "build" / "scale")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    n = args.records
    base, cur = args.dir / f"baseline-{n}.jsonl", args.dir / f"current-{n}.jsonl"
    t0 = time.perf_counter()
    write(base, n, "stable", 1)
    write(cur, n, "shift 0.5 sd", 2)
    print(f"data: {n} + {n} records ({time.perf_counter() - t0:.0f} s to write or reuse)")
    guard = Path(sys.executable).with_name("guard")
    cmd = [
        str(guard), "drift", "report", "--subject", "orders", "--schemas-dir",
        str(REPO / "schemas"), "--baseline", str(base), "--current", str(cur),
        "--out", str(args.dir / "report"),
    ]  # fmt: skip
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
    print(
        f"report: exit {done.returncode}, {wall:.0f} s wall, {cpu:.0f} s CPU, "
        f"peak RSS {peak_mb:.0f} MB"
    )
    print(f"        {2 * n / wall:,.0f} records/s")
    print(done.stdout.splitlines()[0] if done.stdout else done.stderr[-2000:])
    progress = [line for line in re.split(r"[\r\n]", done.stderr) if "profiling" in line]
    print(f"progress bar updates on stderr: {len(progress)}")
    for line in progress[:: max(1, len(progress) // 4)]:
        print(f"    {line.strip()}")


if __name__ == "__main__":
    main()
