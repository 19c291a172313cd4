"""Window limits and the staging of an open window across commit and abort."""

from __future__ import annotations

from guard.config.settings import SketchSettings
from guard.monitoring.profile import WindowMeta, WindowProfile
from guard.monitoring.window import OpenWindow, WindowPolicy


def _profile(records: int) -> WindowProfile:
    p = WindowProfile("s", (), SketchSettings())
    p.records = records
    return p


def test_room_is_what_is_left_of_the_count_limit_or_unbounded() -> None:
    assert WindowPolicy(records=1000).room(600) == 400
    assert WindowPolicy(records=1000).room(1200) == 0
    assert WindowPolicy(seconds=5).room(10**9) is None


def test_a_window_expires_at_its_age_limit_only() -> None:
    meta = WindowMeta("s", "i", 0, started_at=100.0)
    assert not WindowPolicy(seconds=10).expired(meta, 109.9)
    assert WindowPolicy(seconds=10).expired(meta, 110.0)
    assert not WindowPolicy(records=5).expired(meta, 10**9)


def test_a_staged_batch_leaves_the_committed_window_untouched_until_commit() -> None:
    committed = OpenWindow(WindowMeta("s", "i", 0, 0.0), _profile(10), owned=False)
    staged = committed.staged()
    staged.add(_profile(5))
    assert (staged.records, committed.records) == (15, 10)
    staged.materialize()  # a snapshot copy, still not the committed object
    staged.add(_profile(1))
    assert committed.records == 10  # an abort would simply drop `staged`
    staged.commit()
    assert staged.records == 16 and staged.staged().records == 16


def test_commit_folds_the_delta_into_the_committed_profile() -> None:
    committed = OpenWindow(WindowMeta("s", "i", 0, 0.0), _profile(10), owned=False)
    staged = committed.staged()
    staged.add(_profile(5))
    staged.commit()
    assert committed.records == 15
