"""`make bench`: the guard raced against raw Kafka clients and its peers, on one local broker.

Every contender runs as a child process, interleaved over rounds, on the same input topic (3
partitions): records/s and CPU s per 1M records in the steady state (first to last commit,
so start-up and group join are left out), peak RSS, p50/p99 latency from a paced stream, the
ratio to each raw-client ceiling, and every output topic read back with read_committed and
counted: a contender that loses or duplicates records FAILS. Prints a table and issue 9's
Targets, writes build/bench/bench-<time>.json (and latest.json). Asserts nothing.

  python -m benchmarks             # full: 100k records per input, 3 rounds
  python -m benchmarks --quick     # 2,000 records, 3 inputs, 1 round: a few minutes
  python -m benchmarks --long      # only RSS flatness: the guard over 1M records; later races
                                   # report the newest such run (build/bench/rss-latest.json)
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import dataset, topics
from benchmarks.contenders import CONTENDERS, Contender, Job, by_name
from benchmarks.latency import paced_latencies, percentile
from benchmarks.race import REPO, Result, race
from benchmarks.report import markdown, summarise, table, targets, targets_text
from benchmarks.rss import CONTENDER as RSS_CONTENDER
from benchmarks.rss import rss_growth

SCHEMAS = REPO / "schemas"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument(
        "--quick", action="store_true", help="2,000 records, the 20%% invalid inputs, 1 round"
    )
    parser.add_argument("--records", type=int, help="records per input (default 100,000)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3)")
    parser.add_argument("--batch", type=int, default=500, help="records per commit, for all")
    parser.add_argument("--datasets", help="comma-separated input names (default: all five)")
    parser.add_argument("--only", help="comma-separated contender names (default: all)")
    parser.add_argument("--latency-rate", type=float, help="paced records/s (default 1000)")
    parser.add_argument("--latency-seconds", type=float, help="paced duration (default 10)")
    parser.add_argument("--no-latency", action="store_true", help="skip the latency phase")
    parser.add_argument(
        "--latency-only",
        help="comma-separated contender names whose latency is measured (default: every"
        " racing one that writes)",
    )
    parser.add_argument(
        "--long",
        nargs="?",
        const=1_000_000,
        type=int,
        metavar="N",
        help="instead of the race, the RSS flatness run over N records (default 1M) of the guard"
        " on kafka-python, or of the one --only names",
    )
    parser.add_argument("--bootstrap", help="use this broker instead of starting one")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "bench")
    args = parser.parse_args(argv)
    quick = args.quick
    args.records = args.records or (2_000 if quick else 100_000)
    args.rounds = args.rounds or (1 if quick else 3)
    args.latency_rate = args.latency_rate or (500.0 if quick else 1000.0)
    args.latency_seconds = args.latency_seconds or (4.0 if quick else 10.0)
    return args


def _chosen(args: argparse.Namespace) -> tuple[list[dataset.Dataset], list[Contender]]:
    datasets = list(dataset.DATASETS)
    if args.quick and not args.datasets:
        datasets = [d for d in datasets if d.invalid_share == dataset.HEADLINE.invalid_share]
    if args.datasets:
        wanted = args.datasets.split(",")
        datasets = [d for d in datasets if d.name in wanted]
    contenders = list(CONTENDERS)
    if args.only:
        contenders = [by_name(n) for n in contender_names(args.only)]
    return datasets, contenders


def contender_names(text: str) -> list[str]:
    """`--only`'s comma-separated names, where a name may hold a comma itself ("confluent tx
    copy, flush"): at each point the longest run of pieces that makes a known name wins."""
    known = {c.name for c in CONTENDERS}
    pieces, names, i = text.split(","), [], 0
    while i < len(pieces):
        for j in range(len(pieces), i, -1):
            name = ",".join(pieces[i:j]).strip()
            if name in known:
                names.append(name)
                i = j
                break
        else:
            raise SystemExit(f"--only: no contender named {pieces[i].strip()!r} in {text!r}")
    return names


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


def run(args: argparse.Namespace, bootstrap: str) -> tuple[str, dict[str, Any]]:
    """The race, or with --long the RSS run; returns the JSON file's prefix and contents."""
    tag = f"bench.{uuid.uuid4().hex[:6]}"
    workdir = args.out / "runs" / tag
    workdir.mkdir(parents=True, exist_ok=True)
    json_schemas = _export_json_schemas(workdir / "json-schema")

    def job_for(source: str, group: str, records: int) -> Job:
        return Job(
            bootstrap=bootstrap,
            source=source,
            valid=f"{group}.valid",
            dlq=f"{group}.dlq",
            group=group,
            records=records,
            batch=args.batch,
            idle=20.0,
            workdir=workdir,
            json_schemas=json_schemas,
            schemas=SCHEMAS,
        )

    if args.long:
        # --only names the guard to watch (issue 17's targets are on confluent).
        who = _chosen(args)[1][0].name if args.only else RSS_CONTENDER
        growth = rss_growth(
            bootstrap, tag, args.long, job_for, timeout=600 + args.long / 100, contender=who
        )
        print(growth.describe())
        command = f"python -m benchmarks --long {args.long}"
        if args.only:
            command += f' --only "{who}"'
        return "rss", {"command": command, **_stamp(), **growth.to_json()}
    return "bench", race_all(args, bootstrap, tag, job_for)


def _stamp() -> dict[str, Any]:
    return {
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "environment": _environment(),
    }


def race_all(
    args: argparse.Namespace, bootstrap: str, tag: str, job_for: Callable[[str, str, int], Job]
) -> dict[str, Any]:
    datasets, contenders = _chosen(args)
    timeout = 120 + args.records / 100  # a stuck contender is killed, and FAILS
    sources: dict[str, tuple[str, int]] = {}
    for ds in datasets:
        source = f"{tag}.{ds.name}"
        topics.create(bootstrap, [source])
        got = dataset.load(bootstrap, source, dataset.records(ds, args.records))
        sources[ds.name] = (source, got.valid)
        print(
            f"loaded {source}: {got.records:,} records of ~{got.mean_bytes} B, "
            f"{ds.invalid_share:.0%} invalid",
            flush=True,
        )

    results: list[Result] = []
    for rnd in range(args.rounds):
        for ds in datasets:
            source, expected_valid = sources[ds.name]
            shift = (rnd * 3 + datasets.index(ds)) % len(contenders)  # vary who goes first
            for contender in contenders[shift:] + contenders[:shift]:
                group = f"{source}.{_slug(contender.name)}.r{rnd}"
                result = Result(
                    contender.name,
                    contender.family,
                    ds.name,
                    rnd,
                    args.records,
                    expected_valid=expected_valid,
                )
                race(contender, job_for(source, group, args.records), result, timeout)
                topics.drop(bootstrap, f"{group}.")
                results.append(result)
                print(_progress(result), flush=True)

    timed = contenders
    if args.latency_only:
        timed = [by_name(n) for n in contender_names(args.latency_only)]
    latencies = {} if args.no_latency else _latencies(args, bootstrap, tag, timed, job_for)
    rows = summarise(results, latencies)
    rss = _newest_rss(args.out)
    found = targets(results, rss)
    print(table(rows))
    print("\n" + targets_text(found))
    (args.out / "bench-latest.md").write_text(markdown(rows, found))
    return {
        "command": "python -m benchmarks " + " ".join(_argv_of(args)),
        **_stamp(),
        "settings": {k: str(v) for k, v in vars(args).items()},
        "rows": rows,
        "targets": [
            {
                "target": t.text,
                "verdict": t.verdict,
                "measured": t.measured,
                "threshold": t.threshold,
                "why_unmeasured": t.why_unmeasured,
                "by_cpu": t.by_cpu,
                "issue": t.issue,
                "at_most": t.at_most,
            }
            for t in found
        ],
        "rss": rss,
        "runs": [r.to_json() for r in results],
    }


def _newest_rss(out: Path) -> dict[str, Any] | None:
    """The newest --long run's result, which the RSS target is judged on."""
    path = out / "rss-latest.json"
    if not path.exists():
        return None
    got: dict[str, Any] = json.loads(path.read_text())
    got["file"] = str(path)
    return got


def _latencies(
    args: argparse.Namespace,
    bootstrap: str,
    tag: str,
    contenders: list[Contender],
    job_for: Callable[[str, str, int], Job],
) -> dict[str, dict[str, float]]:
    """p50/p99 per contender that writes, on the headline input at a fixed pace."""
    out: dict[str, dict[str, float]] = {}
    n = int(args.latency_rate * args.latency_seconds)
    batch = list(dataset.records(dataset.HEADLINE, n, seed=23))
    for contender in contenders:
        if contender.writes == "nothing":
            continue
        source = f"{tag}.latency.{_slug(contender.name)}"
        topics.create(bootstrap, [source])
        job = job_for(source, f"{source}.g", n)
        result = Result(contender.name, contender.family, "latency", 0, n)
        limit = 120 + args.latency_seconds * 3

        def run_it(
            c: Contender = contender, j: Job = job, r: Result = result, t: float = limit
        ) -> None:
            race(c, j, r, t)

        got = paced_latencies(
            bootstrap, source, [job.valid, job.dlq], batch, args.latency_rate, run_it
        )
        topics.drop(bootstrap, source)
        if result.status != "ok" or not got:
            print(f"latency {contender.name}: {result.status} {result.error}")
            continue
        out[contender.name] = {
            "p50_ms": round(percentile(got, 0.5) * 1000, 1),
            "p99_ms": round(percentile(got, 0.99) * 1000, 1),
            "latency_samples": len(got),
        }
        print(
            f"latency {contender.name}: p50 {out[contender.name]['p50_ms']} ms, "
            f"p99 {out[contender.name]['p99_ms']} ms ({len(got)} records)"
        )
    return out


def _progress(r: Result) -> str:
    if r.status != "ok":
        return f"  r{r.round} {r.dataset:<20} {r.contender:<26} {r.status}: {r.error[:120]}"
    return (
        f"  r{r.round} {r.dataset:<20} {r.contender:<26} {r.rate:>9,.0f} rec/s "
        f"{r.cpu_per_million:>7.1f} CPU s/1M {r.peak_rss_mb:>6.0f} MB"
    )


def _export_json_schemas(out: Path) -> Path:
    """What the hand-written loop validates with: the contracts as JSON Schema files."""
    from guard.contracts import load_registry

    registry = load_registry(SCHEMAS)
    for version, contract in registry.subject("orders").versions.items():
        target = out / "orders" / f"v{version}.schema.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(contract.json_schema), encoding="utf-8")
    return out


def _argv_of(args: argparse.Namespace) -> list[str]:
    out = ["--quick"] if args.quick else []
    out += ["--records", str(args.records), "--rounds", str(args.rounds)]
    if args.datasets:
        out += ["--datasets", args.datasets]
    return out


def _environment() -> dict[str, Any]:
    import os
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str | None] = {}
    for pkg in ("kafka-python", "confluent-kafka", "quixstreams", "jsonschema", "pydantic"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "packages": versions,
    }


def main(argv: list[str] | None = None) -> None:
    import logging

    from guard.localbroker import LocalKafka

    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.bootstrap:
        kind, report = run(args, args.bootstrap)
    else:
        print("starting a local Kafka broker...", flush=True)
        with LocalKafka(jvm="steady") as broker:
            kind, report = run(args, broker.bootstrap_servers)
            report["environment"]["kafka"] = broker.version
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for name in (f"{kind}-{stamp}.json", f"{kind}-latest.json"):
        (args.out / name).write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nwrote {args.out / f'{kind}-{stamp}.json'}")
