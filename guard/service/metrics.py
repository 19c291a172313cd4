"""The service's Prometheus metrics, and the HTTP server for `/metrics`, `/healthz`, `/readyz`.

Collected always (cheap); served only when `metrics.port` is set. Names follow Prometheus
conventions: counters end in `_total`, durations in `_seconds`, shares in `_ratio`.

- `guard_records_total{topic,subject,outcome}` counts records (outcome: valid|quarantined).
- `guard_quarantine_reasons_total{topic,subject,reason}` counts reason codes: one record may
  carry several (a wrong type and a missing field), so its sum can exceed the quarantined
  records. Use `guard_records_total{outcome="quarantined"}` to count records.
- Counted after a batch commits, so an aborted and retried batch is counted once.
- `guard_rule_hits_total{topic,subject,rule,action,reason}` counts contract rules that did not
  hold (action: quarantine|warn, reason: rule_failed|rule_error); `warn` rules let the record
  pass, so this is where they show.
Labels are topics, subjects, partitions, reason codes and rule names (from the contracts, so
bounded): never record keys or values.
"""

from __future__ import annotations

import bisect
import json
import math
import operator
import socket
import threading
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from guard.routing.router import RoutedBatch
from guard.service.health import Health, Status
from guard.transport.base import TopicPartition
from guard.validation.reasons import Reason
from guard.validation.rules import rule_hits

# Record timestamp -> commit: from sub-second (live traffic) to an hour (a backlog).
_E2E_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)

# Each verdict's record's timestamp, read in C (map) rather than a Python loop.
_RECORD, _STAMP = operator.itemgetter(0), operator.attrgetter("timestamp_ms")

# The values of the `outcome` and `cause` labels (guard_records_total, guard_rejoins_total).
OUTCOMES = ("valid", "quarantined")
REJOIN_CAUSES = ("fenced", "stalled")

__all__ = ["MetricsServer", "ServiceMetrics"]


class ServiceMetrics:
    def __init__(
        self, registry: CollectorRegistry | None = None, client: str = "kafka-python"
    ) -> None:
        if registry is None:  # a registry of our own, with the process collectors in it
            registry = CollectorRegistry()
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
            GCCollector(registry=registry)
        self.registry = r = registry
        self.records = Counter(
            "guard_records",
            "Records committed, by outcome.",
            ["topic", "subject", "outcome"],
            registry=r,
        )
        self.reasons = Counter(
            "guard_quarantine_reasons",
            "Reason codes of quarantined records; one record may carry several.",
            ["topic", "subject", "reason"],
            registry=r,
        )
        self.rule_hits = Counter(
            "guard_rule_hits",
            "Contract rules that did not hold, by rule and action (quarantine or warn).",
            ["topic", "subject", "rule", "action", "reason"],
            registry=r,
        )
        self.lag = Gauge(
            "guard_consumer_lag_records",
            "Records after the consumer's position, per assigned partition (read_committed end).",
            ["topic", "partition"],
            registry=r,
        )
        self._lag_labels: set[tuple[str, str]] = set()  # the partitions of the last read
        self.batch_seconds = Histogram(
            "guard_batch_duration_seconds",
            "Poll, route, produce and commit of one batch.",
            registry=r,
        )
        self.commit_seconds = Histogram(
            "guard_commit_duration_seconds",
            "Produce and commit of one batch's transaction.",
            registry=r,
        )
        self.e2e_seconds = BatchHistogram(
            "guard_end_to_end_latency_seconds",
            "From a record's timestamp to the commit of its batch.",
            _E2E_BUCKETS,
        )
        r.register(self.e2e_seconds)
        # Per client (kafka.client), so a dashboard compares transports side by side.
        self.client = client
        labels = ["client"]
        self.aborts = Counter(
            "guard_transaction_aborts",
            "Transactions aborted (the batch is retried), also while the broker is down.",
            labels,
            registry=r,
        ).labels(client)
        self.retries = Counter(
            "guard_retries",
            "Retries after transient broker failures, and client errors the client retries "
            "by itself (a broker it cannot reach).",
            labels,
            registry=r,
        ).labels(client)
        self.rebalances = Counter(
            "guard_rebalances",
            "Times this instance joined (got partitions) or lost every partition.",
            labels,
            registry=r,
        ).labels(client)
        self.rejoins = Counter(
            "guard_rejoins",
            "Clients replaced: cause fenced (or a fatal client error), or stalled (no progress "
            "with lag waiting for metrics.stall_seconds).",
            ["client", "cause"],
            registry=r,
        )
        self.no_progress = Gauge(
            "guard_seconds_without_progress",
            "Seconds since the loop last made progress (what /healthz compares with "
            "metrics.stall_seconds).",
            labels,
            registry=r,
        ).labels(client)
        self.last_commit = Gauge(
            "guard_last_commit_timestamp_seconds", "Unix time of the last commit.", registry=r
        )
        self.assigned = Gauge(
            "guard_assigned_partitions", "Source partitions assigned to this instance.", registry=r
        )
        for cause in REJOIN_CAUSES:  # at 0 from the start: see `expect_topics`
            self.rejoins.labels(client, cause)

    def expect_topics(self, subjects: Mapping[str, str]) -> None:
        """Export every source topic's record and reason counters at 0 from the start. A
        labelled counter otherwise appears with its first batch, at that batch's count, and
        rate() and increase() see no rise in a series that starts there: a topic's first
        quarantined burst would not show on a dashboard or in an alert."""
        for topic, subject in subjects.items():
            for outcome in OUTCOMES:
                self.records.labels(topic, subject, outcome)
            for reason in Reason:  # a fixed set of codes: a bounded number of series
                self.reasons.labels(topic, subject, reason.value)

    def committed(
        self, routed: RoutedBatch, subjects: Mapping[str, str], batch_s: float, commit_s: float
    ) -> None:
        now = time.time()
        # Counts by topic and verdict come from the router's stats; only quarantined records
        # and warnings are looked at one by one.
        for (topic, kind), n in routed.stats.by_topic.items():
            self.records.labels(topic, subjects.get(topic, topic), kind).inc(n)
        reasons: Tally[tuple[str, str, str]] = Tally()
        rules: Tally[tuple[str, str, str, str, str]] = Tally()
        for rec, verdict in routed.verdicts:
            if verdict.ok and not verdict.warnings:
                continue
            subject = subjects.get(rec.topic, verdict.subject)
            if not verdict.ok:
                codes = verdict.reasons
                for reason in codes:
                    reasons[(rec.topic, subject, reason)] += 1
                if Reason.RULE_FAILED in codes or Reason.RULE_ERROR in codes:
                    for hit in rule_hits(verdict.errors, ()):
                        rules[(rec.topic, subject, *hit)] += 1
            else:
                for hit in rule_hits((), verdict.warnings):
                    rules[(rec.topic, subject, *hit)] += 1
        for labels, n in reasons.items():
            self.reasons.labels(*labels).inc(n)
        for rule_labels, n in rules.items():
            self.rule_hits.labels(*rule_labels).inc(n)
        self.e2e_seconds.observe_ages(now, map(_STAMP, map(_RECORD, routed.verdicts)))
        self.batch_seconds.observe(batch_s)
        self.commit_seconds.observe(commit_s)
        self.last_commit.set(now)

    def lag_read(self, lag: Mapping[TopicPartition, int]) -> None:
        """Each partition's new lag; partitions revoked since the last read disappear. No
        clear-and-refill: a scrape (another thread) in between would miss partitions still
        owned, Prometheus would mark their series stale, and rules on them (`for:`) reset."""
        now = {(topic, str(partition)): n for (topic, partition), n in lag.items()}
        for labels, n in now.items():
            self.lag.labels(*labels).set(n)
        for labels in self._lag_labels - now.keys():
            self.lag.remove(*labels)
        self._lag_labels = set(now)


class BatchHistogram(Collector):
    """A histogram fed a batch at a time: one lock per batch instead of per record (the
    client's Histogram.observe costs ~3 us, as much as routing a small record)."""

    def __init__(self, name: str, documentation: str, buckets: Sequence[float]) -> None:
        self.name, self.documentation = name, documentation
        self.bounds = [*buckets, math.inf]
        self._counts = [0] * len(self.bounds)
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe_many(self, values: Iterable[float]) -> None:
        local = [0] * len(self.bounds)
        total = 0.0
        for v in values:
            local[bisect.bisect_left(self.bounds, v)] += 1
            total += v
        self._add(local, total)

    def observe_ages(self, now_s: float, stamps_ms: Iterable[int]) -> None:
        """The ages `now_s - stamp` of records stamped in milliseconds (-1 or 0: the producer
        set none, skipped; a stamp ahead of `now_s` is age 0). The stamps are sorted once and
        each bucket is one bisect, not one per record."""
        stamps = sorted(stamps_ms)
        lo = bisect.bisect_right(stamps, 0)
        n = len(stamps) - lo
        if not n:
            return
        now_ms = now_s * 1000
        local, below = [0] * len(self.bounds), 0
        for i, bound in enumerate(self.bounds):
            # age <= bound  <=>  stamp >= now - bound
            within = (
                n
                if math.isinf(bound)
                else n - (bisect.bisect_left(stamps, now_ms - bound * 1000, lo) - lo)
            )
            local[i], below = within - below, within
        past = bisect.bisect_right(stamps, now_ms, lo)  # stamps not ahead of now
        # Sum of (now - stamp), exact and rounded once (once a batch): subtracting two sums
        # near 1e15 in floats would lose ~0.1 ms a batch.
        total = float(Fraction(now_s) * (past - lo) - Fraction(sum(stamps[lo:past]), 1000))
        self._add(local, total)

    def _add(self, counts: list[int], total: float) -> None:
        """One batch's bucket counts and sum, under the lock `collect` reads them with."""
        with self._lock:
            self._counts = [a + b for a, b in zip(self._counts, counts, strict=True)]
            self._sum += total

    def collect(self) -> Iterator[HistogramMetricFamily]:
        with self._lock:
            counts, total = list(self._counts), self._sum
        cumulative, running = [], 0
        for bound, n in zip(self.bounds, counts, strict=True):
            running += n
            cumulative.append(("+Inf" if math.isinf(bound) else repr(float(bound)), running))
        family = HistogramMetricFamily(self.name, self.documentation)
        family.add_metric([], cumulative, total)
        yield family


class MetricsServer:
    """`/metrics`, `/healthz`, `/readyz` on one port, in a daemon thread."""

    def __init__(self, host: str, port: int, registry: CollectorRegistry, health: Health) -> None:
        export_health(registry, health)
        routes: dict[str, Callable[[], tuple[int, str, bytes]]] = {
            "/metrics": lambda: (200, CONTENT_TYPE_LATEST, generate_latest(registry)),
            "/healthz": lambda: _status(health.live()),
            "/readyz": lambda: _status(health.ready()),
        }

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(with_body=True)

            def do_HEAD(self) -> None:
                # Load balancers and uptime probes ask with HEAD: same status and headers.
                self._answer(with_body=False)

            def _answer(self, with_body: bool) -> None:
                route = routes.get(self.path.split("?", 1)[0])
                code, ctype, body = route() if route else (404, "text/plain", b"not found\n")
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if with_body:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # scrapes every few seconds are not log lines

        # The host's own address family: ThreadingHTTPServer is IPv4 only (`::` or `::1`
        # would fail to start, though `guard config check` found the port free).
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        server = type("_Server", (ThreadingHTTPServer,), {"address_family": family})
        self._server = server((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="guard-metrics", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def listen_error(host: str, port: int) -> str | None:
    """Why the metrics server could not listen on host:port now (None: it could). Binds and
    releases the port the way the server binds it (address reuse on, as ThreadingHTTPServer)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def export_health(registry: CollectorRegistry, health: Health) -> None:
    """`guard_healthy` and `guard_ready`: what /healthz and /readyz answer, as 1 or 0 at each
    scrape, so alert rules and dashboards can see it (Prometheus does not probe them)."""
    healthy = Gauge(
        "guard_healthy",
        "1 while /healthz answers 200 (the loop makes progress).",
        registry=registry,
    )
    healthy.set_function(lambda: float(health.live().ok))
    ready = Gauge(
        "guard_ready", "1 while /readyz answers 200 (assigned and progressing).", registry=registry
    )
    ready.set_function(lambda: float(health.ready().ok))


def _status(status: Status) -> tuple[int, str, bytes]:
    body = json.dumps({"ok": status.ok, **status.detail}).encode() + b"\n"
    return (200 if status.ok else 503), "application/json", body
