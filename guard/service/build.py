"""The one place that wires a `GuardService`: the CLI, the demo, the benchmarks and the tests
all build it here, so they run what production runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from guard.config.settings import GuardSettings
from guard.contracts.registry import Registry, load_registry
from guard.service.probe import NULL_PROBE, LoopProbe
from guard.service.runner import GuardService
from guard.service.targets import Describe
from guard.service.transaction import BatchObserver
from guard.transport.base import Pipe


def build_service(
    settings: GuardSettings,
    registry: Registry | None = None,
    *,
    pipe_factory: Callable[[], Pipe] | None = None,
    describe_targets: Describe | None = None,
    observers: Sequence[BatchObserver] = (),
    probe: LoopProbe = NULL_PROBE,
) -> GuardService:
    """A service over `settings` (contracts from `settings.schemas_dir` unless `registry`).

    By default it talks to the broker through the client `kafka.client` picks, and reads
    its targets' partition counts and size limits from the broker. A pipe of one's own (the
    in-memory fake) comes with its own `describe_targets`, or none: then the pipe gives
    partition counts and only the producer's size limit is known."""
    if registry is None:
        registry = load_registry(settings.schemas_dir)
    if pipe_factory is None:
        from guard.transport.factory import describe_topics, open_pipe

        kafka = settings.kafka

        def connect() -> Pipe:
            return open_pipe(kafka)

        pipe_factory = connect
        if describe_targets is None:
            describe_targets = lambda topics: describe_topics(kafka, topics)  # noqa: E731
    return GuardService(
        settings,
        registry,
        pipe_factory,
        observers,
        describe_targets=describe_targets,
        probe=probe,
    )
