"""The guard as a long-running Kafka consumer service."""

from guard.service.runner import GuardService, RunSummary, build_router, build_validators

__all__ = ["GuardService", "RunSummary", "build_router", "build_validators"]
