"""Stage what a broker leaves behind when it drops a transaction's markers: records and group
offsets written by a transactional id's producer, with no marker ever to follow.

kafka-python's transaction manager is made to skip the requests (AddPartitionsToTxn,
AddOffsetsToTxn) that would tell the transaction coordinator where the transaction wrote, so
the coordinator never writes markers there. The broker must run with
`transaction.partition.verification.enable` off (`BROKER_PROPERTIES`), or it refuses those
writes (KIP-890).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kafka import KafkaProducer
from kafka.producer.transaction_manager import TxnOffsetCommitHandler
from kafka.structs import ConsumerGroupMetadata, OffsetAndMetadata
from kafka.structs import TopicPartition as KTopicPartition

BROKER_PROPERTIES = {"transaction.partition.verification.enable": "false"}

# (topic, partition, key, value)
Written = tuple[str, int, bytes | None, bytes]


def stage_lost_transaction(
    bootstrap: str,
    transactional_id: str,
    group: str,
    offsets: Mapping[tuple[str, int], int],
    records: Sequence[Written] = (),
) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=transactional_id)
    try:
        producer.init_transactions()
        producer.begin_transaction()
        manager = producer._transaction_manager
        # Marked as added: the records go out with no AddPartitionsToTxn before them.
        manager._partitions_in_transaction.update(KTopicPartition(t, p) for t, p, _, _ in records)
        futures = [producer.send(t, key=k, value=v, partition=p) for t, p, k, v in records]
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=30)
        # The offsets go out alone, without AddOffsetsToTxn. The handler completes once the
        # manager's pending offsets are all answered.
        pending = manager._pending_txn_offset_commits
        pending.update(
            {KTopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()}
        )
        handler = TxnOffsetCommitHandler(
            manager, ConsumerGroupMetadata(group_id=group), pending, None
        )
        manager._enqueue_request(handler)
        producer._sender.wakeup()
        if not handler._result.wait(30_000):  # raises the refusal, if any
            raise AssertionError("staging the offsets got no answer in 30 s")
        # Nothing the coordinator knows of: no EndTxn, no marker.
        manager._partitions_in_transaction.clear()
        producer.abort_transaction()
    finally:
        producer.close(timeout=10)
