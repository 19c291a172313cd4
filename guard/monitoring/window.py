"""Count and time windows, and the exactly-once staging of an open window.

A window closes after `records` records (exactly: a batch is split at the boundary) or once
it is `seconds` old (checked when a batch arrives), whichever comes first.

Staging: while a batch is in flight the committed window profile is never mutated. The
batch's records go into a separate delta; only when the window must be published (a snapshot
or its close) is a private copy made that includes the delta. `commit()` then folds the delta
into the committed profile (or adopts the copy); an abort simply drops the staged object.
"""

from __future__ import annotations

from dataclasses import dataclass

from guard.monitoring.profile import WindowMeta, WindowProfile


@dataclass(frozen=True, slots=True)
class WindowPolicy:
    records: int | None = None
    seconds: float | None = None

    def room(self, current: int) -> int | None:
        """How many more records fit in a window holding `current`; None: no count limit."""
        return None if self.records is None else max(self.records - current, 0)

    def expired(self, meta: WindowMeta, now: float) -> bool:
        return self.seconds is not None and now - meta.started_at >= self.seconds


class OpenWindow:
    """The open window of one subject as staged by one batch (see the module docstring)."""

    def __init__(self, meta: WindowMeta, profile: WindowProfile, owned: bool) -> None:
        self.meta = meta
        self._profile = profile  # the committed object unless `owned`
        self._owned = owned
        self._delta: WindowProfile | None = None

    @classmethod
    def fresh(cls, meta: WindowMeta, profile: WindowProfile) -> OpenWindow:
        profile.meta = meta
        return cls(meta, profile, owned=True)

    @property
    def records(self) -> int:
        return self._profile.records + (self._delta.records if self._delta else 0)

    @property
    def first_ts_ms(self) -> int | None:
        stamps = [p.first_ts_ms for p in (self._profile, self._delta) if p is not None]
        return min((t for t in stamps if t is not None), default=None)

    def add(self, batch: WindowProfile) -> None:
        if self._owned:
            self._profile.merge(batch)
        elif self._delta is None:
            self._delta = batch
        else:
            self._delta.merge(batch)

    def materialize(self) -> WindowProfile:
        """The window's full profile, as a private copy this staging may hand out."""
        if not self._owned:
            profile = self._profile.copy()
            if self._delta is not None:
                profile.merge(self._delta)
            self._profile, self._owned, self._delta = profile, True, None
        self._profile.meta = self.meta
        return self._profile

    def staged(self) -> OpenWindow:
        """A new staging over the same window (for the next batch, after a commit)."""
        return OpenWindow(self.meta, self._profile, owned=False)

    def commit(self) -> None:
        """The batch is durable: fold its records into the committed profile."""
        if not self._owned and self._delta is not None:
            self._profile.merge(self._delta)
        self._delta = None
        self._owned = False
