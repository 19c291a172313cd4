"""The guard as a long-running Kafka consumer service."""

from guard.service.build import build_service
from guard.service.runner import (
    GuardService,
    RunSummary,
    build_router,
    build_validators,
)
from guard.service.transaction import BatchObserver, Transaction

__all__ = [
    "BatchObserver",
    "GuardService",
    "RunSummary",
    "Transaction",
    "build_router",
    "build_service",
    "build_validators",
]
