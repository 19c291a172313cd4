"""The confluent-kafka (librdkafka) transport: `ConfluentPipe`, `ConfluentReader`,
`ConfluentTxProducer` and topic admin, behind the seams of `guard.transport.base`.

Installed with the `confluent` extra; `guard.transport.factory` imports it only when
`kafka.client` is "confluent".
"""
