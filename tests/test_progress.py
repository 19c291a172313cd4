"""guard.progress: a bar on a terminal, periodic JSON lines elsewhere, nothing for quick work."""

from __future__ import annotations

import io
import json

import pytest

from guard.progress import DELAY_S, INTERVAL_S, Progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _default_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GUARD_PROGRESS_SECONDS", raising=False)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_work_that_ends_quickly_shows_nothing() -> None:
    out, clock = io.StringIO(), Clock()
    with Progress("validating", 10, stream=out, tty=False, clock=clock) as p:
        p.update(10)
    assert out.getvalue() == ""


def test_off_a_terminal_a_json_line_comes_every_interval_and_at_the_end() -> None:
    out, clock = io.StringIO(), Clock()
    with Progress("validating orders", 100, stream=out, tty=False, clock=clock) as p:
        for _ in range(100):
            clock.now += 1.0  # 100 s of work, 1 record a second
            p.update(1)
    lines = _lines(out)
    # the first after the delay, then one per interval, then the end
    assert len(lines) == 1 + int((100 - DELAY_S) // INTERVAL_S) + 1
    assert all(line["event"] == "progress" for line in lines)
    assert lines[0]["done"] == DELAY_S and lines[0]["total"] == 100
    assert lines[-1] == {
        "event": "progress",
        "task": "validating orders",
        "done": 100,
        "total": 100,
        "unit": "records",
        "percent": 100.0,
        "elapsed_s": 100.0,
        "rate_per_s": 1.0,
        "finished": True,
    }


def test_a_failure_ends_without_the_finished_mark() -> None:
    out, clock = io.StringIO(), Clock()
    with pytest.raises(RuntimeError), Progress("x", 5, stream=out, tty=False, clock=clock) as p:
        clock.now = 3.0
        p.update(1)
        raise RuntimeError
    assert "finished" not in _lines(out)[-1]


def test_on_a_terminal_one_line_is_redrawn_in_place() -> None:
    out, clock = io.StringIO(), Clock()
    with Progress("replaying q", 1000, stream=out, tty=True, clock=clock) as p:
        for _ in range(10):
            clock.now += 1.0
            p.update(100)
    text = out.getvalue()
    assert "{" not in text  # no JSON on a terminal
    assert text.count("\r") >= 8 and text.endswith("\n")
    assert "replaying q [" in text and "100% 1.0k/1.0k records" in text


def test_an_unknown_total_shows_a_count() -> None:
    out, clock = io.StringIO(), Clock()
    with Progress("reading", None, unit="B", stream=out, tty=True, clock=clock) as p:
        clock.now = 5.0
        p.update(2_500_000)
    assert "reading 2.5MB" in out.getvalue()


def test_guard_progress_seconds_zero_reports_every_update(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARD_PROGRESS_SECONDS", "0")
    out = io.StringIO()
    with Progress("x", 3, stream=out, tty=False, clock=Clock()) as p:
        for _ in range(3):
            p.update(1)
    assert [line["done"] for line in _lines(out)] == [1, 2, 3, 3]
