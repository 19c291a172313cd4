"""Safe, idempotent replay of quarantined records after a fix."""

from guard.replay.plan import Classifier, Decision, Outcome
from guard.replay.report import ReplayReport
from guard.replay.run import ReplayJob, ReplayOptions, replay_all, replay_source
from guard.replay.sinks import DirectorySink, TopicSink

__all__ = [
    "Classifier",
    "Decision",
    "DirectorySink",
    "Outcome",
    "ReplayJob",
    "ReplayOptions",
    "ReplayReport",
    "TopicSink",
    "replay_all",
    "replay_source",
]
