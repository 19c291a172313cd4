"""The monitor in the service loop: a BatchObserver that profiles, publishes and alerts.

For every batch, per subject: profile the records into the open window (vectorised, one
column per field), close the window at its count or age limit, check a closed window against
the baseline (or learn the baseline from the first windows), and return the records to
produce *in the batch's transaction*: the window profile for the compacted profiles topic and
one event per alert for the drift topic. A profile of a still-open window is republished at
most every `snapshot_seconds`, under the same key.

Exactly once: `before_commit` only stages (the committed window is never mutated while a
batch is in flight, see window.py); `after_commit` adopts the staged state and only then
logs, counts metrics and saves a learned baseline; `after_abort` drops the staged state, so
a retried batch is profiled, published and alerted once.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import structlog

from guard.config.settings import GuardSettings
from guard.contracts.registry import Registry
from guard.errors import ConfigError, GuardError
from guard.monitoring.alerts import (
    WINDOW_FIELD,
    Alert,
    alert_event,
    alert_record,
    set_value_hash_key,
)
from guard.monitoring.baseline import (
    Baseline,
    describe_mismatch,
    find_baseline,
    learned,
    learned_dir,
    load_baseline,
    plan_mismatch,
    save_baseline,
)
from guard.monitoring.drift import check_window, silence
from guard.monitoring.history import WindowSummary, judge, rule_for, summarize
from guard.monitoring.metrics import MonitorMetrics
from guard.monitoring.plan import SubjectPlan, plan_subject
from guard.monitoring.profile import Observation, WindowMeta, WindowProfile, merge_all
from guard.monitoring.profiles_topic import history_record, profile_record, read_history
from guard.monitoring.sequential import Cusum
from guard.monitoring.window import OpenWindow, WindowPolicy
from guard.monitoring.window_info import open_window_info, window_info
from guard.routing.router import RoutedBatch
from guard.transport.base import OutRecord

UNDECLARED_FIELD = "(undeclared)"  # an undeclared field's name in a log line, unless opted in


def _log() -> Any:
    # Looked up per use (once per window), so it follows the logging configuration in force.
    return structlog.get_logger("guard.monitoring")


def _where(exc: BaseException) -> str:
    """file:line of the innermost frame: where the fault was, without its message (which
    could quote a record's value)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "?"
    return f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"


def _note_heard(
    state: _State,
    heard: set[str],
    owned: frozenset[str] | None,
    now: float,
    broker_failing: bool,
) -> None:
    """Partitions with records start a new silence; with the assignment known, partitions
    no longer owned are forgotten and newly owned ones start their clock now. While the
    broker fails, every clock starts now (at each turn: the last is when it answers again)."""
    clocks = dict(state.heard)
    if owned is not None:
        clocks = {source: clocks.get(source, now) for source in owned}
    if broker_failing:
        # This instance cannot read its sources: no record coming is no sign of silence.
        # Restarting (not pausing) the clocks, as at a takeover: an outage starts before
        # the first failure the loop sees, so no pause could leave its time out. A partition
        # already silent before the outage is alerted silence_seconds after the broker is
        # back instead, late by at most the outage plus the silence before it; one already
        # alerted stays alerted (its silence was never seen to end).
        clocks = dict.fromkeys(clocks, now)
    for source in heard:
        clocks[source] = now
    state.heard = clocks
    state.alerted = frozenset(state.alerted - heard) & frozenset(clocks)


@dataclass
class _Closed:
    profile: WindowProfile
    alerts: list[Alert]
    events: list[dict[str, Any]]


@dataclass
class _State:
    """One subject's monitor state; the committed copy, or a batch's staged copy."""

    window: OpenWindow
    baseline: Baseline | None
    learning: WindowProfile | None = None
    last_snapshot: float = 0.0
    cusum: Cusum | None = None  # sequential detection between closes (immutable)
    history: tuple[WindowSummary, ...] = ()  # recent window summaries, oldest first
    history_index: int = 0  # this instance's next summary number
    # Staged effects, applied after the commit:
    records: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    closed: list[_Closed] = field(default_factory=list)
    early: list[tuple[Alert, dict[str, Any]]] = field(default_factory=list)  # CUSUM alerts
    new_baseline: Baseline | None = None
    # Silence, per source partition of this subject the instance owns: when it last gave a
    # record, or when the instance took it over (replaced whole, never mutated: the staged
    # and committed states share it); and the partitions whose silence was alerted.
    heard: Mapping[str, float] = field(default_factory=dict)
    alerted: frozenset[str] = frozenset()


class MonitoringObserver:
    def __init__(
        self,
        settings: GuardSettings,
        registry: Registry,
        *,
        clock: Callable[[], float] = time.time,
        metrics: MonitorMetrics | None = None,
        baselines: Mapping[str, Baseline | None] | None = None,
    ) -> None:
        m = settings.monitoring
        if m.value_hash_key is not None:  # ops: keyed alert hashes
            set_value_hash_key(m.value_hash_key.get_secret_value().encode())
        self.settings = settings
        self.instance = settings.kafka.instance_id
        self.policy = WindowPolicy(m.windows.records, m.windows.seconds)
        self.metrics = metrics or MonitorMetrics()
        self._clock = clock
        self._seq = itertools.count()
        subjects = sorted({route.subject for route in settings.topics.values()})
        self._subject_of = {topic: route.subject for topic, route in settings.topics.items()}
        self.plans: dict[str, SubjectPlan] = {
            s: plan_subject(registry.subject(s), m, settings.expose_values) for s in subjects
        }
        now = clock()
        self._state: dict[str, _State] = {}
        for s in subjects:
            baseline = baselines[s] if baselines is not None else self._load_baseline(s)
            if baseline is not None:
                self._check_plan(baseline)
            self._state[s] = _State(
                self._new_window(s, now), baseline, last_snapshot=now, cusum=self._cusum(baseline)
            )
            self.metrics.errors.labels(s)  # at 0 from the start, so its first rise shows
        self._staged: dict[str, _State] | None = None
        self._failed: list[str] = []  # subjects this batch's staging failed on (counted at commit)

    def _load_baseline(self, subject: str) -> Baseline | None:
        cfg = self.settings.monitoring.baseline
        if cfg.source == "learn":
            return None
        if cfg.source == "auto":  # ops: also one learned by an earlier run (state_dir)
            baseline = find_baseline(self.settings, subject)
        else:
            baseline = load_baseline(self.settings.schemas_dir, subject, cfg.version)
        if baseline is None and cfg.source == "file":
            raise ConfigError(
                f"monitoring.baseline.source is 'file' but subject {subject!r} has no "
                f"baseline-v<N>.json in {self.settings.schemas_dir / subject} "
                "(build one with `guard baseline build`, or use source: auto)"
            )
        return baseline

    def _cusum(self, baseline: Baseline | None) -> Cusum | None:
        if baseline is None:
            return None
        plan = self.plans[baseline.subject]
        return Cusum.for_baseline(plan, baseline.profile, self.settings.monitoring.sequential)

    def _check_plan(self, baseline: Baseline) -> None:
        """Warn when the baseline was profiled under another plan (e.g. built without the
        config's `monitoring.fields`): its category checks would silently never fire."""
        mismatch = plan_mismatch(baseline, self.plans[baseline.subject])
        if mismatch is not None:
            _log().warning(
                "baseline does not match the monitoring settings",
                subject=baseline.subject,
                baseline=baseline.version,
                path=None if baseline.path is None else str(baseline.path),
                detail=describe_mismatch(mismatch),
                **mismatch,
            )

    def start(self) -> None:
        """Touch the broker: create the monitoring topics (metrics are served by the service)."""
        from guard.monitoring.topics import ensure_monitoring_topics

        ensure_monitoring_topics(self.settings)
        if self.settings.monitoring.history.enabled:
            self._load_history()

    def _load_history(self) -> None:
        """Start from the history every instance left on the profiles topic."""
        keep = self.settings.monitoring.history.windows
        try:
            shared = read_history(self.settings)
        except GuardError as exc:
            _log().warning("window history not read; starting without it", error=str(exc))
            return
        for subject, state in self._state.items():
            summaries = shared.get(subject, [])
            mine = [h.index for h in summaries if h.instance == self.instance]
            state.history = tuple(summaries[-keep:])
            state.history_index = max(mine) + 1 if mine else 0

    def baseline(self, subject: str) -> Baseline | None:
        return self._state[subject].baseline

    def _new_window(self, subject: str, now: float) -> OpenWindow:
        meta = WindowMeta(subject, self.instance, next(self._seq), now)
        return OpenWindow.fresh(meta, WindowProfile.for_plan(self.plans[subject]))

    # -- BatchObserver ------------------------------------------------------------------

    def before_commit(self, routed: RoutedBatch) -> list[OutRecord]:
        now = self._clock()
        by_subject: dict[str, list[Observation]] = defaultdict(list)
        sources: dict[tuple[str, int], str] = {}  # "<topic>/<partition>", built once per batch
        for rec, verdict in routed.verdicts:
            tp = (rec.topic, rec.partition)
            source = sources.get(tp)
            if source is None:
                source = sources[tp] = f"{rec.topic}/{rec.partition}"
            by_subject[verdict.subject].append((source, rec.timestamp_ms, verdict))
        owned: dict[str, frozenset[str]] | None = None
        if routed.owned is not None:  # who owns what, per subject
            owned = {s: frozenset() for s in self._state}
            for topic, partition in routed.owned:
                subject = self._subject_of.get(topic)
                if subject is not None:
                    owned[subject] |= {f"{topic}/{partition}"}
        heard: dict[str, set[str]] = defaultdict(set)  # per subject: partitions with records
        for (topic, _), source in sources.items():
            subject = self._subject_of.get(topic)
            if subject is not None:
                heard[subject].add(source)
        out: list[OutRecord] = []
        staged: dict[str, _State] = {}
        self._failed = []
        for subject, committed in self._state.items():
            state = self._restage(committed)
            mark = len(out)
            items = by_subject.get(subject, [])
            mine = None if owned is None else owned[subject]
            try:
                self._stage(subject, state, items, now, out)
                self._watch_silence(
                    subject, state, heard[subject], mine, now, out, routed.broker_failing
                )
            except Exception as exc:
                # The monitor watches the data; it must never stop it. A fault in it (a bug,
                # a sketch library error) would otherwise fail this batch on every retry and
                # every restart. The subject keeps its committed state: this batch's records
                # go unprofiled, which the log line and the counter make visible.
                del out[mark:]
                self._failed.append(subject)
                _log().error(
                    "monitor failed on a batch; its records are not profiled",
                    subject=subject,
                    records=len(by_subject.get(subject, [])),
                    error=type(exc).__name__,
                    where=_where(exc),
                )
                if items or routed.broker_failing:  # unprofiled, but they came; or an outage
                    state = self._restage(committed)
                    _note_heard(state, heard[subject], mine, now, routed.broker_failing)
                    staged[subject] = state
                continue
            staged[subject] = state
        self._staged = staged
        return out

    @staticmethod
    def _restage(committed: _State) -> _State:
        """A staging of the subject's committed state for one batch (nothing of it shared
        that the staging mutates)."""
        return replace(
            committed,
            window=committed.window.staged(),
            reasons=Counter(),
            closed=[],
            early=[],
            new_baseline=None,
        )

    def after_commit(self) -> None:
        staged, self._staged = self._staged, None
        failed, self._failed = self._failed, []
        for subject in failed:  # counted once per committed batch, not per attempt
            self.metrics.errors.labels(subject).inc()
        if staged is None:
            return
        for subject, state in staged.items():
            state.window.commit()
            self._state[subject] = state
            for alert, event in state.early:
                self.metrics.alerts.labels(subject, alert.statistic).inc()
                self._log_alert(event)
            for closed in state.closed:
                self._report(closed)
            if state.new_baseline is not None:
                self._keep_learned(state.new_baseline)
            state.records, state.reasons, state.closed, state.new_baseline = 0, Counter(), [], None
            state.early = []

    def after_abort(self) -> None:
        self._staged = None
        self._failed = []

    # -- staging ------------------------------------------------------------------------

    def _stage(
        self,
        subject: str,
        state: _State,
        items: list[Observation],
        now: float,
        out: list[OutRecord],
    ) -> None:
        plan = self.plans[subject]
        if state.window.records and self.policy.expired(state.window.meta, now):
            self._close(subject, state, now, out)
        if not items:
            return
        if state.window.records == 0:  # an empty window starts with its first record
            state.window = self._new_window(subject, now)
        state.records += len(items)
        for _source, _ts, verdict in items:
            if not verdict.ok:
                state.reasons.update(verdict.reasons)
        pos = 0
        while pos < len(items):
            room = self.policy.room(state.window.records)
            segment = items[pos:] if room is None else items[pos : pos + room]
            pos += len(segment)
            delta = WindowProfile.for_plan(plan)
            delta.add(plan, segment)
            if state.cusum is not None:
                self._sequential(state, segment, out)
            state.window.add(delta)
            if room is not None and len(segment) >= room:
                self._close(subject, state, now, out)
        m = self.settings.monitoring
        if state.window.records and now - state.last_snapshot >= m.snapshot_seconds:
            out.append(profile_record(m.profiles_topic, state.window.materialize()))
            state.last_snapshot = now

    def _watch_silence(
        self,
        subject: str,
        state: _State,
        heard: set[str],
        owned: frozenset[str] | None,
        now: float,
        out: list[OutRecord],
        broker_failing: bool,
    ) -> None:
        """Each owned partition's clock runs from its last record, or from when this instance
        took it over (a restart too: a source dead before it is still found), or from when
        the broker answered again after failing (time it could not be read is no silence).
        Alerts once per silence, for the partitions the baseline had records coming on."""
        _note_heard(state, heard, owned, now, broker_failing)
        limit = self.settings.monitoring.windows.silence_seconds
        if limit is None or owned is None or state.baseline is None:
            return
        silent = {
            source: now - since
            for source, since in state.heard.items()
            if source not in state.alerted and now - since >= limit
        }
        if not silent:
            return
        alert = silence(
            subject,
            self.plans[subject].window,
            state.baseline.profile,
            silent,
            window_records=self.policy.records,
            window_seconds=self.policy.seconds,
        )
        if alert is None:
            return
        info = open_window_info(state.window.meta, state.window.records, None, None)
        event = alert_event(alert, info, state.baseline.describe())
        out.append(alert_record(self.settings.monitoring.drift_topic, event))
        state.early.append((alert, event))
        state.alerted = state.alerted | frozenset(alert.detail["partitions"])

    def _sequential(self, state: _State, segment: list[Observation], out: list[OutRecord]) -> None:
        """Feed the CUSUMs; an alert goes out in this batch, naming the open window."""
        assert state.cusum is not None and state.baseline is not None
        before = state.window.records
        state.cusum, alerts = state.cusum.feed([v.record for _, _, v in segment], before)
        if not alerts:
            return
        meta = state.window.meta
        described = state.baseline.describe()
        topic = self.settings.monitoring.drift_topic
        for alert in alerts:
            at = alert.detail["records_into_window"]
            first = state.window.first_ts_ms or segment[0][1]
            window = open_window_info(meta, at, first, segment[at - before - 1][1])
            event = alert_event(alert, window, described)
            out.append(alert_record(topic, event))
            state.early.append((alert, event))

    def _history(self, state: _State, profile: WindowProfile, out: list[OutRecord]) -> list[Alert]:
        """Judge the closed window against the history, then add it (bounded) and publish
        its summary to the profiles topic."""
        m = self.settings.monitoring
        cfg = m.history
        summary = summarize(profile, self.instance, state.history_index)
        judged = judge(cfg, summary, state.history, self.plans[profile.subject].window.min_records)
        state.history = (*state.history, summary)[-cfg.windows :]
        state.history_index += 1
        out.append(history_record(m.profiles_topic, summary, cfg.windows))
        return [
            j.alert(profile.subject, rule_for(cfg, profile.subject, j.metric))
            for j in judged
            if j.anomalous
        ]

    def _close(self, subject: str, state: _State, now: float, out: list[OutRecord]) -> None:
        m = self.settings.monitoring
        plan = self.plans[subject]
        profile = state.window.materialize()
        # A new meta object: the committed window's must not change before the commit.
        profile.meta = replace(state.window.meta, ended_at=now, final=True)
        out.append(profile_record(m.profiles_topic, profile))
        alerts: list[Alert] = []
        window = window_info(profile)
        described = state.baseline.describe() if state.baseline is not None else {}
        if state.baseline is not None:
            alerts = check_window(plan, profile, state.baseline.profile)
        if m.history.enabled:
            alerts.extend(self._history(state, profile, out))
        events = [alert_event(a, window, described) for a in alerts]
        out.extend(alert_record(m.drift_topic, e) for e in events)
        if state.baseline is None:  # learning: this window becomes (part of) the baseline
            learning = merge_all(p for p in (state.learning, profile) if p is not None)
            assert learning is not None
            learning.meta = None
            if learning.windows >= m.baseline.learn_windows:
                state.baseline = state.new_baseline = learned(plan, learning, self.instance)
                state.cusum = self._cusum(state.baseline)
                state.learning = None
            else:
                state.learning = learning
        state.closed.append(_Closed(profile, alerts, events))
        if state.cusum is not None:
            state.cusum = state.cusum.rearm()
        state.window = self._new_window(subject, now)
        state.last_snapshot = now

    # -- after commit -------------------------------------------------------------------

    def _report(self, closed: _Closed) -> None:
        profile = closed.profile
        self.metrics.window(profile, closed.alerts)
        # Undeclared keys are chosen by the producers, like values: counted, named on opt-in.
        names = (
            {"unknown_field_names": sorted(profile.unknown_fields)}
            if self.settings.expose_values
            else {}
        )
        log = _log()
        log.info(
            "window profiled",
            subject=profile.subject,
            window=window_info(profile),
            records=profile.records,
            quarantined=profile.quarantined,
            quarantine_rate=round(profile.quarantine_rate, 4),
            unknown_fields=len(profile.unknown_fields),
            **names,
            alerts=len(closed.alerts),
        )
        for event in closed.events:
            self._log_alert(event)

    def _log_alert(self, event: dict[str, Any]) -> None:
        """The alert's log line. Its field is named when the contract declares it (or for a
        window-level check); an undeclared field's name (a new_field / missing_field alert) is
        the producers' text, so the line says `(undeclared)` unless `expose_values` is set. The
        drift topic's event names it either way."""
        field = event["field"]
        if not (
            self.settings.expose_values
            or field == WINDOW_FIELD
            or field in self.plans[event["subject"]].paths
        ):
            field = UNDECLARED_FIELD
        _log().warning(
            "drift alert",
            subject=event["subject"],
            field=field,
            statistic=event["statistic"],
            value=event["value"],
            threshold=event["threshold"],
            baseline_value=event["baseline_value"],
            current_value=event["current_value"],
            p_value=event["p_value"],
            significance_level=event["significance_level"],
            window=event["window"]["id"],
            detail=event["detail"],
        )

    def _keep_learned(self, baseline: Baseline) -> None:
        cfg = self.settings.monitoring.baseline
        where = None
        if cfg.save:
            try:
                state = learned_dir(self.settings)  # ops: state, never schemas/
                (state / baseline.subject).mkdir(parents=True, exist_ok=True)
                where = str(save_baseline(state, baseline))
            except (GuardError, OSError) as exc:
                _log().warning("learned baseline not saved; kept in memory", error=str(exc))
        _log().info(
            "baseline learned",
            subject=baseline.subject,
            version=baseline.version,
            records=baseline.profile.records,
            windows=baseline.profile.windows,
            path=where,
        )
