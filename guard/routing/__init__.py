"""Routing decisions: valid records to the clean topic, the rest to quarantine."""

from guard.routing.router import RoutedBatch, RoutePlan, Router, RoutingStats

__all__ = ["RoutePlan", "RoutedBatch", "Router", "RoutingStats"]
