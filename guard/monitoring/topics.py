"""Create the drift topic and the compacted profiles topic if they do not exist yet.

The profiles topic is keyed `<subject>/<instance>/<window>`: compaction keeps each window's
last published state (an open window is republished as it grows), and `delete` with
`monitoring.profiles_retention_ms` bounds the topic, since every window has its own key.
"""

from __future__ import annotations

from guard.config.settings import GuardSettings
from guard.transport.factory import ensure_topics


def topic_configs(settings: GuardSettings) -> dict[str, dict[str, str]]:
    m = settings.monitoring
    return {
        m.profiles_topic: {
            "cleanup.policy": "compact,delete",
            "retention.ms": str(m.profiles_retention_ms),
        },
        m.drift_topic: {},
    }


def ensure_monitoring_topics(settings: GuardSettings) -> None:
    if settings.kafka.create_topics:
        configs = topic_configs(settings)
        ensure_topics(settings.kafka, dict.fromkeys(configs, 1), configs)
