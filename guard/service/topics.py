"""Before the loop starts: the source topics must exist, and the output topics are created.

A missing source is an error (`missing_sources: fail`, exit 2) or waited for (`wait`), never
a silent 1-partition output topic. Quarantine topics get `quarantine_retention_ms`, long
enough to fix a producer and replay, instead of the broker's default (often 7 days).
"""

from __future__ import annotations

import structlog

from guard.config.settings import GuardSettings
from guard.errors import ConfigError
from guard.service.watchdog import StopFlag
from guard.transport.base import Pipe

log = structlog.get_logger("guard.service")

WAIT_POLL_S = 5.0


def source_partitions(settings: GuardSettings, pipe: Pipe, stop: StopFlag) -> dict[str, int] | None:
    """Partition count of every source; None when a stop was requested while waiting."""
    while True:
        counts = {source: pipe.partition_count(source) for source in settings.topics}
        missing = sorted(t for t, n in counts.items() if not n)
        if not missing:
            return {t: n for t, n in counts.items() if n}
        if settings.missing_sources == "fail":
            what = "topics {} do not" if len(missing) > 1 else "topic {} does not"
            raise ConfigError(
                f"source {what.format(', '.join(missing))} exist "
                "(create it first, or set missing_sources: wait)"
            )
        log.warning("waiting for source topics", missing=missing, poll_s=WAIT_POLL_S)
        stop.sleep(WAIT_POLL_S)  # cut short by a stop request
        if stop.is_set():
            return None


def output_topics(
    settings: GuardSettings, partitions: dict[str, int]
) -> tuple[dict[str, int], dict[str, dict[str, str]]]:
    """Valid and quarantine topics with their source's partition count, and the settings
    quarantine topics are created with (retention long enough to replay)."""
    wanted: dict[str, int] = {}
    configs: dict[str, dict[str, str]] = {}
    for source, route in settings.topics.items():
        wanted[route.valid_for(source)] = partitions[source]
        quarantine = route.quarantine_for(source)
        wanted[quarantine] = partitions[source]
        configs[quarantine] = {"retention.ms": str(settings.quarantine_retention_ms)}
    return wanted, configs
