"""Local single-node Kafka 4.x broker (KRaft) run from Maven Central jars, for demos and tests."""

from guard.localbroker.broker import LocalKafka, render_server_properties
from guard.localbroker.fetch import BrokerError, KafkaDist, cache_root, fetch

__all__ = [
    "BrokerError",
    "KafkaDist",
    "LocalKafka",
    "cache_root",
    "fetch",
    "render_server_properties",
]
