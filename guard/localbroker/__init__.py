"""Local Kafka 4.x (KRaft) run from Maven Central jars, for demos and tests: a single node
(`LocalKafka`) or a replicated cluster of combined nodes (`LocalKafkaCluster`)."""

from guard.localbroker.broker import LocalKafka, render_server_properties
from guard.localbroker.cluster import LocalKafkaCluster
from guard.localbroker.fetch import BrokerError, KafkaDist, cache_root, fetch

__all__ = [
    "BrokerError",
    "KafkaDist",
    "LocalKafka",
    "LocalKafkaCluster",
    "cache_root",
    "fetch",
    "render_server_properties",
]
