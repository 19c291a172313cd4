"""A record whose headers the client cannot read is data: it arrives with key and value intact
and `header_error` set, and the records behind it and on other partitions keep flowing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kafka import KafkaProducer

from guard.config.settings import KafkaSettings
from guard.localbroker import LocalKafka
from guard.transport.base import InRecord
from guard.transport.factory import ensure_topics, open_pipe

pytestmark = pytest.mark.integration


class _RawHeaderKey(str):
    """A header key kafka-python writes as raw bytes that are not UTF-8 (a hostile producer)."""

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return b"\xff\xfe-not-utf8"


def test_confluent_poll_returns_a_record_with_an_unreadable_header_key_and_keeps_flowing(
    kafka: LocalKafka, unique: Callable[[str], str]
) -> None:
    source = unique("src")
    settings = KafkaSettings(
        client="confluent",
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=unique("group"),
        transactional_id=unique("tx"),
        request_timeout_ms=15_000,
    )
    ensure_topics(settings, {source: 2})
    raw = KafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    # Many of them: CPython specialises a hot call site after a few calls, which once let a
    # broken header list through unchecked and crashed the process.
    bad_keys = [b"bad%d" % i for i in range(40)]
    for key in bad_keys:
        headers = [("ok", b"1"), (_RawHeaderKey("x"), b"v")]
        raw.send(source, key=key, value=b"bad-value", headers=headers, partition=0)
    raw.send(source, key=b"next", value=b"n", headers=[("ok", b"2")], partition=0)
    raw.send(source, key=b"other", value=b"o", partition=1)
    raw.flush(timeout=30)
    raw.close(timeout=10)

    pipe = open_pipe(settings)
    try:
        pipe.subscribe([source])
        got: list[InRecord] = []
        for _ in range(60):
            batch = pipe.poll(max_records=10, timeout_ms=500)
            got += batch
            if batch:  # committed, so the next poll moves on instead of rewinding
                pipe.begin()
                pipe.commit({(r.topic, r.partition): r.offset + 1 for r in batch})
            if len(got) >= len(bad_keys) + 2:
                break
    finally:
        pipe.close()
    by_key = {r.key: r for r in got}
    assert sorted(by_key) == sorted([*bad_keys, b"next", b"other"])
    for key in bad_keys:
        bad = by_key[key]
        assert (bad.value, bad.headers) == (b"bad-value", [])
        assert bad.header_error == "a header key is not valid UTF-8"
    assert (by_key[b"next"].headers, by_key[b"next"].header_error) == ([("ok", b"2")], None)
    assert (by_key[b"other"].headers, by_key[b"other"].header_error) == ([], None)
