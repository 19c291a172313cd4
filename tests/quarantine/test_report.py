"""The quarantine report's streaming aggregation and its rendering (no broker)."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from html import escape
from pathlib import Path

from click.testing import CliRunner

from benchmarks.quarantine_report_scale import lines
from guard.cli.main import cli
from guard.quarantine import report as report_mod
from guard.quarantine.envelope import encode_envelope
from guard.quarantine.files import record_line
from guard.quarantine.records import QuarantinedRecord, from_file_line
from guard.quarantine.report import (
    OTHER,
    STORED_BUCKETS,
    QuarantineAggregate,
    count_producers,
    producer_of,
)
from guard.quarantine.report_render import QuarantineReport, SourceReport, render_html, render_md
from guard.validation.reasons import FieldError, Reason
from tests.fixtures.paths import SCHEMAS

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SECRET = b'{"card": "4111-1111-1111-1111"}'


def _record(
    n: int,
    errors: list[tuple[str, Reason]],
    *,
    at: datetime = AT,
    partition: int = 0,
    versions: tuple[int, ...] = (2,),
    headers: list[tuple[str, bytes | None]] | None = None,
    key: bytes | None = None,
    value: bytes = SECRET,
) -> QuarantinedRecord:
    envelope = encode_envelope(
        ("orders", partition, n, None, None, None),
        "orders",
        versions,
        tuple(FieldError(f, code, f"{code.value} on {f}") for f, code in errors),
        1,
        at.isoformat().replace("+00:00", "Z").encode(),
    )
    line = record_line(key, value, [*(headers or []), *envelope])
    return from_file_line("q.jsonl", n + 1, line)


def test_counts_per_reason_field_version_and_partition() -> None:
    records = [
        _record(0, [("amount", Reason.OUT_OF_RANGE)], partition=0),
        _record(1, [("amount", Reason.OUT_OF_RANGE), ("currency", Reason.NOT_IN_ENUM)]),
        _record(2, [("", Reason.NOT_JSON)], partition=2, versions=(3, 2)),
    ]
    agg = QuarantineAggregate("q").collect(records)
    data = agg.to_json()
    assert data["records"] == 3
    assert data["by_reason"] == {"out_of_range": 2, "not_in_enum": 1, "not_json": 1}
    assert data["by_field"] == {"amount": 2, "currency": 1, "(record)": 1}
    assert data["by_version"] == {"v2": 2, "v3,v2": 1}
    assert data["by_partition"] == {"orders[0]": 2, "orders[2]": 1}
    assert data["fields"]["amount"]["checks"] == {"out_of_range": 2}
    assert [e["location"] for e in data["fields"]["amount"]["examples"]] == [
        "q.jsonl:1",
        "q.jsonl:2",
    ]


def test_a_field_failing_twice_in_one_record_counts_that_record_once() -> None:
    rec = _record(0, [("items[0].qty", Reason.OUT_OF_RANGE), ("items[0].qty", Reason.WRONG_TYPE)])
    data = QuarantineAggregate("q").collect([rec]).to_json()
    assert data["by_field"] == {"items[0].qty": 1}
    assert data["fields"]["items[0].qty"]["checks"] == {"out_of_range": 1, "wrong_type": 1}
    assert len(data["fields"]["items[0].qty"]["examples"]) == 1


def test_handled_and_filtered_records_are_counted_apart() -> None:
    records = [_record(i, [("amount", Reason.OUT_OF_RANGE)], partition=i % 2) for i in range(6)]
    agg = QuarantineAggregate("q").collect(
        records,
        handled=lambda key: key == "q.jsonl:2",  # record 1, partition 1
        matches=lambda rec: rec.source["partition"] == 0,
    )
    assert (agg.total, agg.handled, agg.filtered) == (3, 1, 2)


def test_the_over_time_series_add_up_to_the_records() -> None:
    records = [
        _record(i, [("amount", Reason.OUT_OF_RANGE)], at=AT + timedelta(minutes=7 * i))
        for i in range(100)
    ]
    agg = QuarantineAggregate("q").collect(records)
    starts, series = agg.series(None)
    assert sum(series["records"]) == 100 and len(starts) <= report_mod.MAX_BUCKETS
    _, by_reason = agg.series("reason")
    assert sum(by_reason["out_of_range"]) == 100


def test_memory_stays_bounded_by_keys_and_buckets_not_records() -> None:
    """A year of one record a minute, each with a new field name: time buckets coarsen and
    keys past the cap count as (other), so what is kept does not grow with the records."""
    agg = QuarantineAggregate("q")
    n = 20_000
    for i in range(n):
        rec = _record(i, [(f"f{i}", Reason.UNKNOWN_FIELD)], at=AT + timedelta(minutes=26 * i))
        agg.add(rec)
    assert len(agg.per_bucket) <= STORED_BUCKETS
    assert len(agg.counts["field"]) == report_mod.MAX_KEYS + 1
    assert agg.counts["field"][OTHER] == n - report_mod.MAX_KEYS
    assert len(agg.fields) <= report_mod.MAX_KEYS + 1
    assert sum(agg.per_bucket.values()) == n
    assert sum(sum(c.values()) for c in agg.timeline["field"].values()) == n


def test_generated_quarantine_counts_match_a_plain_count_of_its_headers() -> None:
    raw = list(lines(3000, seed=4))
    expected: Counter[str] = Counter()
    for text in raw:
        expected.update(json.loads(text)["headers"]["guard.reasons"].split(","))
    items = [from_file_line("g.jsonl", i + 1, t) for i, t in enumerate(raw)]
    data = QuarantineAggregate("g", producer_header="producer").collect(items).to_json()
    assert data["records"] == 3000 and data["by_reason"] == dict(expected.most_common())
    ranking = data["producers"]["ranking"]
    assert sum(r["records"] for r in ranking) == 3000
    assert [r["records"] for r in ranking] == sorted((r["records"] for r in ranking), reverse=True)


def test_producers_by_key_prefix() -> None:
    records = [
        _record(0, [("a", Reason.WRONG_TYPE)], key=b"billing:1"),
        _record(1, [("a", Reason.WRONG_TYPE)], key=b"billing:2"),
        _record(2, [("a", Reason.WRONG_TYPE)], key=b"shop:9"),
        _record(3, [("a", Reason.WRONG_TYPE)], key=b"nokey"),
    ]
    data = QuarantineAggregate("q", key_prefix_separator=":").collect(records).to_json()
    assert [(r["producer"], r["records"]) for r in data["producers"]["ranking"]] == [
        ("billing", 2),
        ("shop", 1),
    ]
    assert data["producers"]["unidentified"] == 1


def test_with_source_counts_producers_rank_by_quarantined_over_sent() -> None:
    records = [_record(i, [("a", Reason.WRONG_TYPE)], key=b"big:%d" % i) for i in range(10)]
    records += [_record(10 + i, [("a", Reason.WRONG_TYPE)], key=b"small:%d" % i) for i in range(3)]
    agg = QuarantineAggregate("q", key_prefix_separator=":").collect(records)
    source = [([], b"big:%d" % i, 1000 + i) for i in range(1000)]
    source += [([], b"small:%d" % i, 1000 + i) for i in range(4)]
    source += [([], b"late:1", 5000)]  # outside the range: not counted
    agg.sent = count_producers(source, None, ":", since_ms=1000, until_ms=4000)
    ranking = agg.producer_ranking()
    assert [(r["producer"], r["sent"], r["quarantine_rate"]) for r in ranking] == [
        ("small", 4, 0.75),
        ("big", 1000, 0.01),
    ]


def test_the_producer_header_wins_over_the_key_prefix() -> None:
    headers = [("client-id", b"first"), ("client-id", b"billing")]
    assert producer_of(headers, b"shop:1", "client-id", ":") == "billing"  # the last one
    assert producer_of([], b"shop:1", "client-id", ":") == "shop"
    assert producer_of([], b"shop1", None, ":") is None


def _page(expose: bool) -> tuple[str, str]:
    rec = _record(0, [("amount", Reason.OUT_OF_RANGE)], key=b"k:1", value=SECRET)
    agg = QuarantineAggregate("q", expose_values=expose).collect([rec])
    plan = {"target": "t", "passed": 0, "still_failing": 1, "still_failing_by_reason": {}}
    plan |= {"skipped": {}}
    report = QuarantineReport([SourceReport(agg, plan)], "now", {}, expose)
    return render_html(report, report.to_json()), json.dumps(report.to_json())


def test_no_record_values_unless_expose_values() -> None:
    html, data = _page(expose=False)
    assert "4111" not in html and "4111" not in data
    html, data = _page(expose=True)
    assert "4111" in html and "4111" in data


def test_every_link_in_the_page_has_a_target() -> None:
    html, _ = _page(expose=False)
    targets = set(re.findall(r'id="([^"]+)"', html))
    links = set(re.findall(r'href="#([^"]+)"', html))
    assert links and links <= targets, links - targets
    assert len(re.findall(r'id="([^"]+)"', html)) == len(targets)  # ids are unique


def test_the_command_writes_three_files_with_the_stats_numbers(tmp_path: Path) -> None:
    qdir = tmp_path / "q"
    qdir.mkdir()
    (qdir / "orders.jsonl").write_text("\n".join(lines(500, seed=1)) + "\n")
    out = tmp_path / "out"
    args = ["--dir", str(qdir), "--schemas-dir", str(SCHEMAS), "--out", str(out)]
    result = CliRunner().invoke(
        cli, ["quarantine", "report", *args, "--producer-header", "producer"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "report.json").read_text())
    stats = CliRunner().invoke(cli, ["quarantine", "stats", "--dir", str(qdir), "--json"])
    expected = json.loads(stats.stdout)[str(qdir)]
    [source] = data["sources"]
    assert source["records"] == expected["total"] == 500
    assert source["by_reason"] == expected["by_reason"]
    assert source["replay_plan"]["still_failing"] + source["replay_plan"]["passed"] == 500
    assert "# Quarantine report" in (out / "report.md").read_text()
    assert 'data-metric="records">500<' in (out / "report.html").read_text()


def test_report_md_shows_field_and_producer_names_as_text_not_markup() -> None:
    """Undeclared field names are the producer's JSON keys, producer names its header: in
    report.md they are text, never HTML, links or extra table cells."""
    from markdown_it import MarkdownIt

    hostile = [
        "<img src=x onerror=alert(1)>",
        "`| x | [click](javascript:alert(1))",
        "![p](https://evil.example/p.png)&amp;",
    ]
    records = [
        _record(n, [(name, Reason.UNKNOWN_FIELD)], headers=[("producer", name.encode())])
        for n, name in enumerate(hostile)
    ]
    agg = QuarantineAggregate("q", producer_header="producer").collect(records)
    report = QuarantineReport([SourceReport(agg, None)], "now", {}, False)
    text = render_md(report, report.to_json())

    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(text)
    inline = [child for t in tokens for child in t.children or ()]
    markup = {"html_inline", "html_block", "link_open", "image"}
    assert not [t for t in [*tokens, *inline] if t.type in markup], text
    shown = "\n".join("".join(c.content for c in t.children or ()) for t in tokens)
    for name in hostile:  # each name shown as written: in the fields and producers tables
        assert shown.count(name) >= 2, (name, text)


def test_a_quarantine_time_outside_1970_to_9997_counts_without_a_time_not_a_crash() -> None:
    """A zero time (`0001-01-01`, what some tools write for "unset") beside a real one made
    the timeline floor a bucket into year 0; `9999-12-31T23:59:59-14:00` is year 10000 in
    UTC. Either ended `guard quarantine report` with exit 4."""
    records = [
        _record(0, [("amount", Reason.OUT_OF_RANGE)], at=datetime(1, 1, 1, tzinfo=UTC)),
        _record(1, [("amount", Reason.OUT_OF_RANGE)]),
        _record(
            2,
            [("amount", Reason.OUT_OF_RANGE)],
            at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14))),
        ),
    ]
    agg = QuarantineAggregate("q").collect(records)
    report = QuarantineReport([SourceReport(agg, None)], "now", {}, False)
    data = report.to_json()
    render_html(report, data)
    [source] = data["sources"]
    assert (source["records"], source["without_time"]) == (3, 2)
    assert source["first_quarantined_at"] == source["last_quarantined_at"] == "2026-11-20T09:00:00Z"


def test_fields_differing_only_in_punctuation_link_to_their_own_rows() -> None:
    """`a b` and `a/b` (and the `(record)` row beside a field named `record`) made one id
    each: duplicate ids, and a link from one field's row landed on the other's details."""
    names = ["a b", "a/b", "record", ""]
    records = [_record(n, [(name, Reason.WRONG_TYPE)]) for n, name in enumerate(names)]
    agg = QuarantineAggregate("q").collect(records)
    report = QuarantineReport([SourceReport(agg, None)], "now", {}, False)
    html = render_html(report, report.to_json())
    ids = re.findall(r'id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for name in ["a b", "a/b", "record", "(record)"]:
        shown = escape(name)
        [href] = re.findall(rf'<a href="#([^"]+)">{re.escape(shown)}</a>', html)
        detail = re.search(rf'<tr id="{re.escape(href)}"><td><code>([^<]*)</code>', html)
        assert detail and detail.group(1) == shown, (name, href)
