"""Stage what a broker leaves behind when it drops a committed transaction's markers: offsets
written for a group by a transactional id's producer, with no marker ever to follow.

kafka-python's transaction manager sends the TxnOffsetCommit alone, without the
AddOffsetsToTxn that would put `__consumer_offsets` in the transaction, so the coordinator never
writes a marker there. The broker must run with `transaction.partition.verification.enable`
off (`BROKER_PROPERTIES`), or it refuses the write (KIP-890).
"""

from __future__ import annotations

from collections.abc import Mapping

from kafka import KafkaProducer
from kafka.producer.transaction_manager import TxnOffsetCommitHandler
from kafka.structs import ConsumerGroupMetadata, OffsetAndMetadata
from kafka.structs import TopicPartition as KTopicPartition

BROKER_PROPERTIES = {"transaction.partition.verification.enable": "false"}


def stage_lost_commit(
    bootstrap: str, transactional_id: str, group: str, offsets: Mapping[tuple[str, int], int]
) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=transactional_id)
    try:
        producer.init_transactions()
        producer.begin_transaction()
        manager = producer._transaction_manager
        # The handler completes once the manager's pending offsets are all answered.
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
        producer.abort_transaction()  # nothing was added: no EndTxn, no marker
    finally:
        producer.close(timeout=10)
