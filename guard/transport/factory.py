"""The one place that picks a transport by `kafka.client`: everything else asks here.

Each client lives in its own sibling module behind the seams of `guard.transport.base`;
their imports happen only when chosen, so a deployment needs only the client it uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from guard.config.settings import KafkaSettings
from guard.errors import ConfigError
from guard.transport.base import CommittedRead, Pipe, TxSink

if TYPE_CHECKING:
    from guard.transport.check import Finding


def open_pipe(settings: KafkaSettings) -> Pipe:
    """The service's consume -> produce -> commit pipe."""
    if settings.client == "kafka-python":
        from guard.transport.kafka import KafkaPipe

        return KafkaPipe(settings)
    raise _unsupported(settings)


def open_reader(settings: KafkaSettings, fetch_bytes: int | None = None) -> CommittedRead:
    """A read_committed snapshot reader (replay, profiles, verification)."""
    if settings.client == "kafka-python":
        from guard.transport.reader import CommittedReader

        return CommittedReader(settings, fetch_bytes)
    raise _unsupported(settings)


def open_tx_sink(settings: KafkaSettings, transactional_id: str) -> TxSink:
    """A transactional producer with no consumer attached."""
    if settings.client == "kafka-python":
        from guard.transport.txproducer import TxProducer

        return TxProducer(settings, transactional_id)
    raise _unsupported(settings)


def ensure_topics(
    settings: KafkaSettings,
    partitions: Mapping[str, int],
    configs: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Create the missing topics; `configs` adds per-topic settings (e.g. compaction)."""
    if settings.client == "kafka-python":
        from guard.transport.admin import ensure_topics as create

        create(settings, partitions, configs)
        return
    raise _unsupported(settings)


def _unsupported(settings: KafkaSettings) -> ConfigError:
    return ConfigError(f"kafka.client: {settings.client!r} is not available in this build")


def check_broker(
    settings: KafkaSettings, sources: Sequence[str], outputs: Sequence[str]
) -> list[Finding]:
    """Bounded checks that the service can work with the broker (`guard config check`)."""
    if settings.client == "kafka-python":
        from guard.transport.check import check_broker as check

        return check(settings, sources, outputs)
    raise _unsupported(settings)
