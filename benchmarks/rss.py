"""RSS flatness: the guard (kafka-python, monitoring off) over a long stream, its resident
memory read from /proc when it had committed a fifth of the records and at the end."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from benchmarks import dataset, topics
from benchmarks.contenders import Job, by_name
from benchmarks.race import Result, race

CONTENDER = "guard kafka-python"


@dataclass(frozen=True)
class RssGrowth:
    records: int
    mark: int  # records committed at the first reading
    rss_at_mark_mb: float
    rss_at_end_mb: float
    peak_rss_mb: float
    status: str
    error: str

    @property
    def growth(self) -> float | None:
        if self.status != "ok" or not self.rss_at_mark_mb:
            return None
        return self.rss_at_end_mb / self.rss_at_mark_mb - 1.0

    def describe(self) -> str:
        if self.growth is None:
            head = f"RSS flatness ({CONTENDER}, {self.records:,} records)"
            return f"{head}: {self.status} {self.error}"
        return (
            f"RSS flatness ({CONTENDER}): {self.rss_at_mark_mb:.1f} MB at {self.mark:,} records, "
            f"{self.rss_at_end_mb:.1f} MB at {self.records:,} ({self.growth:+.1%}); "
            f"peak {self.peak_rss_mb:.1f} MB"
        )

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "growth": self.growth}


def rss_growth(
    bootstrap: str, tag: str, n: int, job_for: Callable[[str, str, int], Job], timeout: float
) -> RssGrowth:
    source = f"{tag}.long"
    topics.create(bootstrap, [source])
    loaded = dataset.load(bootstrap, source, dataset.records(dataset.HEADLINE, n, seed=5))
    print(f"loaded {source}: {loaded.records:,} records for the RSS run", flush=True)
    job = job_for(source, f"{source}.g", n)
    result = Result(CONTENDER, "guard", "long", 0, n, expected_valid=loaded.valid)
    child = race(by_name(CONTENDER), job, result, timeout)
    topics.drop(bootstrap, source)
    mark = n // 5
    if child is None or result.status != "ok":
        return RssGrowth(n, mark, 0.0, 0.0, result.peak_rss_mb, result.status, result.error)
    commits = []  # (time, records committed so far)
    done = 0
    for line in child.stderr_path.read_text(errors="replace").splitlines():
        if '"batch committed"' in line:
            event = json.loads(line)
            done += int(event["records"])
            commits.append((datetime.fromisoformat(event["timestamp"]).timestamp(), done))
    at_mark = next(t for t, k in commits if k >= mark)
    at_end = commits[-1][0]

    def rss_after(at: float) -> float:
        after = [s.rss for s in child.samples if s.at >= at]
        return (after[0] if after else child.samples[-1].rss) / 2**20

    return RssGrowth(n, mark, rss_after(at_mark), rss_after(at_end), result.peak_rss_mb, "ok", "")
