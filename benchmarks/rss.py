"""RSS flatness: the guard (kafka-python unless --only names another, monitoring off) over a long
stream. Resident memory is read from /proc every 0.1 s; the median over the tenth before a fifth
of the records was committed (100k-200k of 1M) is compared with the median over the last tenth
of the run."""

from __future__ import annotations

import bisect
import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from benchmarks import dataset, topics
from benchmarks.child import Sample
from benchmarks.contenders import Job, by_name
from benchmarks.race import Result, race

CONTENDER = "guard kafka-python"


@dataclass(frozen=True)
class RssGrowth:
    contender: str
    records: int
    mark: int  # records committed at the first reading
    rss_at_mark_mb: float
    rss_at_end_mb: float
    peak_rss_mb: float
    status: str
    error: str
    profile: list[tuple[int, float]] = field(default_factory=list)  # (records, RSS MB)

    @property
    def growth(self) -> float | None:
        if self.status != "ok" or not self.rss_at_mark_mb:
            return None
        return self.rss_at_end_mb / self.rss_at_mark_mb - 1.0

    def describe(self) -> str:
        if self.growth is None:
            head = f"RSS flatness ({self.contender}, {self.records:,} records)"
            return f"{head}: {self.status} {self.error}"
        return (
            f"RSS flatness ({self.contender}): median {self.rss_at_mark_mb:.1f} MB up to "
            f"{self.mark:,} records, {self.rss_at_end_mb:.1f} MB up to {self.records:,} "
            f"({self.growth:+.1%}); process peak {self.peak_rss_mb:.1f} MB"
        )

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "growth": self.growth}


def rss_growth(
    bootstrap: str,
    tag: str,
    n: int,
    job_for: Callable[[str, str, int], Job],
    timeout: float,
    contender: str = CONTENDER,
) -> RssGrowth:
    source = f"{tag}.long"
    topics.create(bootstrap, [source])
    loaded = dataset.load(bootstrap, source, dataset.records(dataset.HEADLINE, n, seed=5))
    print(f"loaded {source}: {loaded.records:,} records for the RSS run", flush=True)
    job = job_for(source, f"{source}.g", n)
    result = Result(contender, "guard", "long", 0, n, expected_valid=loaded.valid)
    child = race(by_name(contender), job, result, timeout)
    topics.drop(bootstrap, source)
    mark = n // 5
    if child is None or result.status != "ok":
        return RssGrowth(
            contender, n, mark, 0.0, 0.0, result.peak_rss_mb, result.status, result.error
        )
    commits = []  # (time, records committed so far)
    done = 0
    for line in child.stderr_path.read_text(errors="replace").splitlines():
        if '"batch committed"' in line:
            event = json.loads(line)
            done += int(event["records"])
            commits.append((datetime.fromisoformat(event["timestamp"]).timestamp(), done))
    profile = _profile(commits, child.samples)
    return RssGrowth(
        contender,
        n,
        mark,
        _window_median(profile, mark - n // 10, mark),
        _window_median(profile, n - n // 10, n),
        result.peak_rss_mb,
        "ok",
        "",
        profile[:: max(1, len(profile) // 200)],
    )


def _profile(commits: list[tuple[float, int]], samples: list[Sample]) -> list[tuple[int, float]]:
    """(records committed, RSS MB) for every /proc reading taken between two commits."""
    times = [t for t, _ in commits]
    out = []
    for s in samples:
        i = bisect.bisect_right(times, s.at)
        if 0 < i < len(commits):  # after the first commit, before the last
            out.append((commits[i - 1][1], s.rss / 2**20))
    return out


def _window_median(profile: list[tuple[int, float]], low: int, high: int) -> float:
    """The median RSS while the committed count was in [low, high]: single readings (and so
    a window's peak) swing with fetch buffers and GC; the median is the level the process
    holds there."""
    inside = [rss for k, rss in profile if low <= k <= high]
    return statistics.median(inside) if inside else 0.0
