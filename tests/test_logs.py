"""Every line on stderr is JSON, the Kafka clients' included, and repeats are folded."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from guard.logs import RepeatFilter, configure_logging


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]


def test_a_client_library_line_is_rendered_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    logging.getLogger("kafka.conn").warning("connect to %s failed", "127.0.0.1:1")
    (line,) = _lines(capsys)
    assert line["event"] == "connect to 127.0.0.1:1 failed"
    assert line["logger"] == "kafka.conn"
    assert line["level"] == "warning"
    assert "timestamp" in line


def test_guard_events_and_client_lines_share_one_format(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")
    structlog.get_logger("guard.run").info("starting", batches=1)
    logging.getLogger("kafka.client").error("boom")
    assert [line["event"] for line in _lines(capsys)] == ["starting", "boom"]


def test_client_info_lines_stay_below_the_threshold(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    logging.getLogger("kafka.conn").info("chatter")
    assert _lines(capsys) == []


def test_a_repeated_client_line_is_heard_once_per_window(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")
    for _ in range(25):
        logging.getLogger("kafka.conn").warning("connect to %s failed", "127.0.0.1:1")
    assert len(_lines(capsys)) == 1


def test_the_next_line_after_a_window_counts_what_was_dropped() -> None:
    folding = RepeatFilter(window_s=0.0)
    record = logging.LogRecord("kafka", logging.WARNING, "", 0, "down", None, None)
    assert folding.filter(record)
    folding.window_s = 3600
    assert not folding.filter(record)
    assert not folding.filter(record)
    folding.window_s = 0.0
    again = logging.LogRecord("kafka", logging.WARNING, "", 0, "down", None, None)
    assert folding.filter(again)
    assert again.repeated == 2


def test_librdkafka_repeats_that_differ_only_in_numbers_are_folded() -> None:
    from guard.logs import RepeatFold, fold_key

    now = [0.0]
    fold = RepeatFold(window_s=30, clock=lambda: now[0])
    first = "FAIL [thrd:127.0.0.1:9092/1]: Connect failed (after 0ms, 1 identical error(s))"
    again = "FAIL [thrd:127.0.0.1:9092/1]: Connect failed (after 3ms, 7 identical error(s))"
    assert fold.admit(fold_key("log", first)) == 0
    for _ in range(14):
        assert fold.admit(fold_key("log", again)) is None
    now[0] = 31
    assert fold.admit(fold_key("log", again)) == 14  # the kept line says what was dropped
