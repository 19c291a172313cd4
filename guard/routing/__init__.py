"""Routing decisions: valid records to the clean topic, the rest to quarantine."""

from guard.routing.router import RoutedBatch, RoutePlan, Router, RoutingStats, merge_routed

__all__ = ["RoutePlan", "RoutedBatch", "Router", "RoutingStats", "merge_routed"]
