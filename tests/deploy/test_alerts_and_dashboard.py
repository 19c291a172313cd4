"""deploy/: the alert rules and the Grafana dashboard name only metrics a running guard
exports, and the rules pass `promtool check rules` and their `promtool test rules` file.

The exported names come from a real scrape: the service runs on the in-memory transport with
drift monitoring on, its registry is served by the guard's own MetricsServer (as `guard run`
wires them), and /metrics is read over HTTP.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from guard.config.settings import GuardSettings
from guard.contracts import load_registry
from guard.monitoring.metrics import MonitorMetrics
from guard.monitoring.observer import MonitoringObserver
from guard.service.build import build_service
from guard.service.health import Health
from guard.service.metrics import MetricsServer, ServiceMetrics
from guard.service.probe import ServiceProbe
from guard.transport.memory import MemoryBroker, MemoryPipe
from tests.fixtures.paths import REPO, SCHEMAS

DEPLOY = REPO / "deploy"
RULES = DEPLOY / "alerts.yml"
RULE_TESTS = DEPLOY / "alerts.test.yml"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
GOOD = {
    "order_id": "0b6f4f52-3c7b-4a43-9c49-8d5a3b1e2f10",
    "customer_email": "a@example.com",
    "amount": 10.5,
    "currency": "EUR",
    "quantity": 1,
    "created_at": "2026-11-21T09:15:00Z",
}

# PromQL words that are not metric names.
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or"}
_KEYWORDS |= {"unless", "offset", "bool", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (Grafana `$variables` removed)."""
    text = re.sub(r"\$\{?\w+\}?", "", expr)
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for m in re.finditer(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = m.group(0)
        after = text[m.end() :].lstrip()
        if word.lower() in _KEYWORDS or after.startswith("("):
            continue
        names.add(word)
    return names


def test_metric_names_finds_selectors_not_functions_labels_or_keywords() -> None:
    expr = (
        'sum by (job, topic) (rate(guard_records_total{outcome="quarantined"}[10m] offset 1h))'
        " / on (job) group_left sum(guard_x_total) > bool 3 and time() - guard_y > 1e3"
    )
    assert metric_names(expr) == {"guard_records_total", "guard_x_total", "guard_y"}
    assert metric_names('sum(rate(guard_a{topic=~"$topic"}[$__rate_interval]))') == {"guard_a"}


def _rule_exprs() -> list[tuple[str, str]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [(r["alert"], r["expr"]) for g in groups for r in g["rules"]]


def _dashboard_exprs() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []

    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for p in items:
            yield p
            yield from panels(p.get("panels", []))

    for path in DASHBOARDS:
        dash = json.loads(path.read_text())
        for p in panels(dash["panels"]):
            out += [(f"{path.name}: {p['title']}", t["expr"]) for t in p.get("targets", [])]
        for var in dash["templating"]["list"]:
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            found = re.fullmatch(r"label_values\((\w+),\s*\w+\)", query)
            assert found, query
            out.append((f"{path.name}: ${var['name']}", found.group(1)))
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every sample name on a running guard's /metrics (service and drift monitor)."""
    state = tmp_path_factory.mktemp("state")
    settings = GuardSettings(
        topics={"orders": {"subject": "orders"}},  # type: ignore[dict-item]
        batch={"max_records": 50, "poll_timeout_ms": 1},  # type: ignore[arg-type]
        monitoring={"enabled": True, "windows": {"records": 100}},  # type: ignore[arg-type]
        state_dir=state,
    )
    registry = load_registry(SCHEMAS)
    metrics = ServiceMetrics()
    health = Health(60, 30)
    probe = ServiceProbe(metrics, health, {"orders": "orders"}, 0.001, 0)
    monitor = MonitoringObserver(settings, registry, metrics=MonitorMetrics(metrics.registry))
    broker = MemoryBroker()
    broker.create("orders", 2)
    for i in range(300):
        value = dict(GOOD, amount="x") if i % 5 == 0 else GOOD
        broker.produce("orders", json.dumps(value).encode(), f"k{i}".encode(), partition=i % 2)
    pipe = MemoryPipe(broker, "g")
    server = MetricsServer("127.0.0.1", 0, metrics.registry, health).start()
    try:
        build_service(
            settings, registry, pipe_factory=lambda: pipe, observers=[monitor], probe=probe
        ).run(idle_timeout=0)
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=10) as r:
            text = r.read().decode()
    finally:
        server.close()
    # Sample names, and the names the `# TYPE` lines declare: a labelled metric with no series
    # yet (no drift alert so far) is declared with its type but has no sample line.
    names = {s.name for family in text_string_to_metric_families(text) for s in family.samples}
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        names.add(name)
        if kind == "histogram":
            names.update(f"{name}_{suffix}" for suffix in ("bucket", "sum", "count"))
    return names


def test_the_scrape_has_the_service_health_and_drift_metrics(exported: set[str]) -> None:
    assert {"guard_records_total", "guard_healthy", "guard_ready"} <= exported
    assert {"guard_drift_alerts_total", "guard_commit_duration_seconds_bucket"} <= exported


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_every_expression_names_only_metrics_the_running_guard_exports(
    exported: set[str], source: str
) -> None:
    exprs = _rule_exprs() if source == "rules" else _dashboard_exprs()
    assert exprs
    for where, expr in exprs:
        names = metric_names(expr)
        assert names, (where, expr)
        assert all(n.startswith("guard_") for n in names), (where, names)
        assert names <= exported, (where, names - exported)


def test_the_alerts_cover_what_an_on_call_engineer_is_paged_for() -> None:
    alerts = {name for name, _ in _rule_exprs()}
    assert {
        "GuardQuarantineRateAboveBaseline",
        "GuardDriftAlerts",
        "GuardMonitorFailing",
        "GuardConsumerLagGrowing",
        "GuardNoProgress",
        "GuardNotReady",
    } <= alerts


def test_the_dashboard_has_a_panel_per_concern() -> None:
    [dash] = [json.loads(p.read_text()) for p in DASHBOARDS]
    text = json.dumps(dash)
    for metric in (
        "guard_records_total",  # throughput, valid/quarantined
        "guard_quarantine_reasons_total",  # by reason
        "guard_consumer_lag_records",
        "guard_commit_duration_seconds_bucket",  # transaction latency
        "guard_assigned_partitions",  # rebalances
        "guard_drift_alerts_total",
        "guard_healthy",
        "guard_ready",
    ):
        assert metric in text, metric
    uids = {t["datasource"]["uid"] for p in dash["panels"] for t in p.get("targets", [])}
    provisioned = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"]
    assert uids == {d["uid"] for d in provisioned}


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is needed: apt-get install -y prometheus (as .ci/run does)"
    return path


def test_promtool_accepts_the_rules() -> None:
    done = subprocess.run(
        [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 7 rules found" in done.stdout


def test_promtool_rule_tests_pass() -> None:
    done = subprocess.run(
        [promtool(), "test", "rules", str(RULE_TESTS)],
        capture_output=True,
        text=True,
        check=False,
        cwd=DEPLOY,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_accepts_the_prometheus_config_with_its_rules(tmp_path: Path) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    shutil.copy(RULES, tmp_path / "alerts.yml")
    config["rule_files"] = [str(tmp_path / "alerts.yml")]  # where compose mounts it
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [promtool(), "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_rule_test_that_expects_the_wrong_thing_fails(tmp_path: Path) -> None:
    """The promtool harness can fail: the same tests, expecting silence where an alert fires."""
    tests = yaml.safe_load(RULE_TESTS.read_text())
    for group in tests["tests"]:
        for case in group["alert_rule_test"]:
            case["exp_alerts"] = []
    shutil.copy(RULES, tmp_path / "alerts.yml")
    (tmp_path / "wrong.test.yml").write_text(yaml.safe_dump(tests))
    done = subprocess.run(
        [promtool(), "test", "rules", "wrong.test.yml"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode != 0


def _promtool_case(tmp_path: Path, case: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """`promtool test rules` on one test group against deploy/alerts.yml."""
    shutil.copy(RULES, tmp_path / "alerts.yml")
    tests = {"rule_files": ["alerts.yml"], "evaluation_interval": "1m", "tests": [case]}
    (tmp_path / "case.test.yml").write_text(yaml.safe_dump(tests))
    return subprocess.run(
        [promtool(), "test", "rules", "case.test.yml"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )


def _firing(alert: str, at: str, fired: list[dict[str, str]], value: str = "") -> dict[str, Any]:
    """A promtool case: at `at`, `alert` fires once per label set in `fired` (none: silent),
    its annotations rendered from the rule's templates with those labels and `value`."""
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    [rule] = [r for r in rules if r["alert"] == alert]

    def render(text: str, labels: dict[str, str]) -> str:
        text = re.sub(r"\{\{\s*\$labels\.(\w+)\s*\}\}", lambda m: labels[m.group(1)], text)
        return re.sub(r"\{\{\s*\$value[^}]*\}\}", value, text)

    exp = [
        {
            "exp_labels": labels,
            "exp_annotations": {k: render(v, labels) for k, v in rule["annotations"].items()},
        }
        for labels in fired
    ]
    return {"eval_time": at, "alertname": alert, "exp_alerts": exp}


def test_drift_alert_fires_for_a_series_born_at_one_by_its_first_alert(tmp_path: Path) -> None:
    """The guard creates guard_drift_alerts_total{subject,statistic} with its first alert, so
    Prometheus first sees it at 1 (no 0 before): that alert must page too, for 15 minutes."""
    ident = 'job="guard",instance="a",subject="orders",statistic="psi"'
    labels = {"severity": "warning", "job": "guard", "subject": "orders", "statistic": "psi"}
    done = _promtool_case(
        tmp_path,
        {
            "interval": "1m",
            "input_series": [
                {"series": f"guard_drift_alerts_total{{{ident}}}", "values": "_x30 1x40"}
            ],
            "alert_rule_test": [
                _firing("GuardDriftAlerts", "35m", [labels], "1"),
                _firing("GuardDriftAlerts", "50m", []),
            ],
        },
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_quarantine_rate_alert_fires_on_a_topic_without_records_the_day_before(
    tmp_path: Path,
) -> None:
    """A day without records makes the baseline 0/0 (NaN); the 2% floor must hold instead."""
    ident = 'job="guard",instance="a",topic="orders",subject="orders"'
    labels = {"severity": "warning", "job": "guard", "topic": "orders"}
    done = _promtool_case(
        tmp_path,
        {
            "interval": "1m",
            "input_series": [
                {
                    "series": f'guard_records_total{{{ident},outcome="valid"}}',
                    "values": "1000x1640 1000+300x60",
                },
                {
                    "series": f'guard_records_total{{{ident},outcome="quarantined"}}',
                    "values": "100x1640 100+300x60",
                },
            ],
            "alert_rule_test": [
                _firing("GuardQuarantineRateAboveBaseline", "1690m", [labels], "50%")
            ],
        },
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_not_ready_alert_spares_a_live_replica_that_owns_no_partition(tmp_path: Path) -> None:
    """b: a spare member (4 instances, 3 partitions): live, owns nothing, never ready, by
    design: no page. c: owns nothing and is not live: paged. d: owns partitions, not ready."""
    series = []
    for instance, ready, healthy, assigned in (("b", 0, 1, 0), ("c", 0, 0, 0), ("d", 0, 1, 2)):
        ident = f'job="guard",instance="{instance}"'
        series += [
            {"series": f"guard_ready{{{ident}}}", "values": f"{ready}x60"},
            {"series": f"guard_healthy{{{ident}}}", "values": f"{healthy}x60"},
            {"series": f"guard_assigned_partitions{{{ident}}}", "values": f"{assigned}x60"},
        ]
    labels = [{"severity": "warning", "job": "guard", "instance": i} for i in ("c", "d")]
    fired = _firing("GuardNotReady", "60m", labels)
    done = _promtool_case(
        tmp_path, {"interval": "1m", "input_series": series, "alert_rule_test": [fired]}
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_since_last_commit_panel_shows_nothing_for_an_instance_that_never_committed(
    tmp_path: Path,
) -> None:
    """guard_last_commit_timestamp_seconds is 0 until a first commit (a spare replica owns no
    partition and never commits): the panel must not show 56 years since 1970."""
    [expr] = [e for where, e in _dashboard_exprs() if where.endswith(": Since last commit")]
    shutil.copy(RULES, tmp_path / "alerts.yml")
    case = {
        "interval": "1m",
        "input_series": [
            {"series": 'guard_last_commit_timestamp_seconds{instance="spare"}', "values": "0x30"},
            {"series": 'guard_last_commit_timestamp_seconds{instance="busy"}', "values": "0+58x30"},
        ],
        "promql_expr_test": [
            {
                "expr": expr,
                "eval_time": "30m",
                "exp_samples": [{"labels": '{instance="busy"}', "value": 60}],
            }
        ],
    }
    done = _promtool_case(tmp_path, case)
    assert done.returncode == 0, done.stdout + done.stderr


def test_drift_alerts_panel_shows_the_first_alert_of_a_series_born_at_one(tmp_path: Path) -> None:
    """As for GuardDriftAlerts: the series starts at 1 with its first alert, which increase()
    alone reads as no rise, so the panel showed nothing for it."""
    [expr] = [e for where, e in _dashboard_exprs() if where.endswith(": Drift alerts")]
    ident = 'subject="orders",statistic="psi"'
    case = {
        "interval": "1m",
        "input_series": [
            {"series": f"guard_drift_alerts_total{{{ident}}}", "values": "_x30 1x40"},
        ],
        "promql_expr_test": [
            {
                "expr": expr.replace("$__rate_interval", "5m"),
                "eval_time": at,
                "exp_samples": [{"labels": f"{{{ident}}}", "value": shown}],
            }
            for at, shown in (("32m", 1), ("50m", 0))  # then 0, not a gap, once it is past
        ],
    }
    done = _promtool_case(tmp_path, case)
    assert done.returncode == 0, done.stdout + done.stderr
