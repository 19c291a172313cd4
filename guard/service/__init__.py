"""The guard as a long-running Kafka consumer service."""

from guard.service.runner import (
    BatchObserver,
    GuardService,
    RunSummary,
    build_router,
    build_validators,
)

__all__ = ["BatchObserver", "GuardService", "RunSummary", "build_router", "build_validators"]
