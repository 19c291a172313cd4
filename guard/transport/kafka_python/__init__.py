"""The kafka-python transport: `KafkaPipe`, `CommittedReader`, `TxProducer` and topic admin,
behind the seams of `guard.transport.base`; the same file per role as
`guard.transport.confluent`."""
