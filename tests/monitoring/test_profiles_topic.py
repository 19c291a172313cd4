"""Profiles on the compacted topic: the newest closed window per instance (and the open one
after it), merged per subject."""

from __future__ import annotations

from guard.config.settings import MonitoringSettings, SketchSettings
from guard.monitoring.profile import WindowMeta, WindowProfile
from guard.monitoring.profiles_topic import (
    MIN_WINDOW_S,
    STALE_WINDOWS,
    InstanceWindows,
    current_windows,
    default_max_age,
    merged,
)


def _window(
    instance: str, seq: int, started: float, records: int, final: bool = True
) -> WindowProfile:
    p = WindowProfile("events", ("a",), SketchSettings())
    p.records = records
    p.meta = WindowMeta("events", instance, seq, started, started + 1 if final else None, final)
    return p


def _records(slots: list[InstanceWindows], which: str) -> list[tuple[str, int]]:
    return [(s.instance, getattr(s, which).records) for s in slots if getattr(s, which)]


def test_the_newest_closed_window_of_each_instance_is_merged_per_subject() -> None:
    profiles = [_window("a", 0, 10, 100), _window("a", 1, 20, 7), _window("b", 0, 15, 5)]
    slots = current_windows(profiles).subjects["events"]
    assert _records(slots, "final") == [("a", 7), ("b", 5)]
    view = merged(s.final for s in slots)
    assert view is not None and (view.records, view.windows) == (12, 2)


def test_an_open_window_is_kept_apart_from_the_closed_window_before_it() -> None:
    """The newest profile of `a` is a young snapshot: the closed window stays the state."""
    profiles = [
        _window("a", 0, 10, 1000),
        _window("a", 1, 11, 20, final=False),
        _window("b", 0, 10, 900),
        _window("b", 1, 5, 3, final=False),  # a window that never closed, since replaced
    ]
    slots = current_windows(profiles).subjects["events"]
    assert _records(slots, "final") == [("a", 1000), ("b", 900)]
    assert _records(slots, "open") == [("a", 20)]


def test_max_age_leaves_out_instances_that_stopped_publishing() -> None:
    profiles = [_window("a", 0, 1000, 1), _window("b", 0, 100, 1)]
    current = current_windows(profiles, max_age_s=60, now=1030)
    assert [s.instance for s in current.subjects["events"]] == ["a"]
    assert current.stale == {"events": ["b"]}


def test_by_default_windows_older_than_three_window_lengths_are_left_out() -> None:
    """Time windows of 300 s: `b` closed its window 20 min ago (> 3 lengths), `a` 1 min ago."""
    a = _window("a", 0, 1000, 50)
    b = _window("b", 0, 0, 50)
    mon = MonitoringSettings(windows={"records": None, "seconds": 300})
    current = current_windows([a, b], now=1060, monitoring=mon)
    assert [s.instance for s in current.subjects["events"]] == ["a"]
    assert current.stale == {"events": ["b"]}
    assert default_max_age(mon) == STALE_WINDOWS * 300
    assert [s.instance for s in current_windows([a, b], now=1060).subjects["events"]] == ["a", "b"]


def test_count_windows_are_aged_by_each_instances_own_window_length() -> None:
    """Count-only windows: `b` closed a 600 s window 40 min ago (> 3 x 600 s) and is left
    out; `a`'s 2 s windows are kept for the floor of 3 min; `c`, with only an open window
    published 100 s ago, too."""
    mon = MonitoringSettings(windows={"records": 1000, "seconds": None})
    a = _window("a", 0, 10_000, 1000)  # closed at 10_001
    b = _window("b", 0, 7_000, 1000)
    assert b.meta is not None
    b.meta.ended_at = 7_600
    c = _window("c", 0, 5_000, 10, final=False)
    assert c.meta is not None
    c.meta.published_at = 10_050
    current = current_windows([a, b, c], now=10_150, monitoring=mon)
    assert [s.instance for s in current.subjects["events"]] == ["a", "c"]
    assert current.stale == {"events": ["b"]}
    assert default_max_age(mon, b) == STALE_WINDOWS * 600
    assert default_max_age(mon, a) == STALE_WINDOWS * MIN_WINDOW_S
    # --max-age overrides: a day brings `b` back.
    assert len(current_windows([a, b, c], 86_400, 10_150, monitoring=mon).subjects["events"]) == 3
