"""`guard quarantine report` at scale: wall time and peak memory over N quarantined records.

    python benchmarks/quarantine_report_scale.py [--records 1000000] [--dir build/qscale]

Writes a file-mode quarantine of N seeded records (envelopes as the guard writes them, spread
over a day, six source partitions, seven producers named by a `producer` header, several
reasons, fields and contract versions), streamed to disk and kept for reruns, then runs the
report as a child process and prints its wall time and peak RSS (getrusage of the child).
The aggregation keeps counters, not records, so the peak should not grow with N: run it with
--records 100000 and 1000000 to compare.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from guard.quarantine.envelope import encode_envelope
from guard.quarantine.files import record_line
from guard.validation.reasons import FieldError, Reason

REPO = Path(__file__).resolve().parents[1]
START = datetime(2026, 11, 20, tzinfo=UTC)
# (reason, field, message), weighted: a few failures dominate, as in a real quarantine.
FAILURES = [
    (Reason.OUT_OF_RANGE, "amount", "Input should be greater than or equal to 0"),
    (Reason.OUT_OF_RANGE, "items[0].qty", "Input should be greater than or equal to 1"),
    (Reason.NOT_IN_ENUM, "currency", "not one of the allowed values"),
    (Reason.MISSING_FIELD, "order_id", "Field required"),
    (Reason.WRONG_TYPE, "quantity", "Input should be a valid integer"),
    (Reason.PATTERN_MISMATCH, "coupon", "does not match the pattern"),
]
WEIGHTS = [40, 10, 20, 15, 10, 5]


def lines(n: int, seed: int = 0, span: timedelta = timedelta(days=1)) -> Iterator[str]:
    """N quarantine file lines, deterministic for a seed."""
    rng = random.Random(seed)
    for i in range(n):
        partition = i % 6
        failures = rng.choices(FAILURES, WEIGHTS, k=2 if rng.random() < 0.1 else 1)
        errors = tuple(FieldError(f, reason, msg) for reason, f, msg in dict.fromkeys(failures))
        at = START + span * (i / max(n, 1))
        version = 1 if rng.random() < 0.2 else 2
        producer = f"svc-{min(int(rng.expovariate(0.6)), 6)}"
        headers = [("producer", producer.encode()), ("schema-version", str(version).encode())]
        headers += encode_envelope(
            ("orders", partition, i // 6, int(at.timestamp() * 1000), None, None),
            "orders",
            (version,),
            errors,
            1,
            at.isoformat(timespec="milliseconds").replace("+00:00", "Z").encode(),
        )
        value = json.dumps({"order_id": f"{i:08d}", "amount": -1}).encode()
        yield record_line(f"{producer}:{i}".encode(), value, headers)


def write(path: Path, n: int) -> None:
    if path.is_file() and path.stat().st_size > 0:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for line in lines(n):
            fh.write(line + "\n")
    tmp.rename(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=REPO / "build" / "qscale")
    args = parser.parse_args()
    n = args.records
    qdir = args.dir / f"quarantine-{n}"
    t0 = time.perf_counter()
    write(qdir / "orders.jsonl", n)
    size = (qdir / "orders.jsonl").stat().st_size
    print(f"data: {n} quarantined records, {size / 1e6:.0f} MB ({time.perf_counter() - t0:.0f} s)")
    guard = Path(sys.executable).with_name("guard")
    cmd = [
        str(guard), "quarantine", "report", "--dir", str(qdir), "--schemas-dir",
        str(REPO / "schemas"), "--producer-header", "producer", "--out", str(args.dir / "report"),
    ]  # fmt: skip
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
    print(
        f"report: exit {done.returncode}, {wall:.0f} s wall, {cpu:.0f} s CPU, "
        f"peak RSS {peak_mb:.0f} MB, {n / wall:,.0f} records/s"
    )
    print(done.stdout.strip() or done.stderr[-2000:])
    report = json.loads((args.dir / "report" / "report.json").read_text())
    print(f"report.json: {report['records']} records, {report['sources'][0]['replay_plan']}")


if __name__ == "__main__":
    main()
