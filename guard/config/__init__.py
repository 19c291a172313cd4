"""Service configuration."""

from guard.config.settings import GuardSettings, KafkaSettings, Route, load_settings

__all__ = ["GuardSettings", "KafkaSettings", "Route", "load_settings"]
