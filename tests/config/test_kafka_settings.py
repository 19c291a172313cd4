"""KafkaSettings: client tuning and static membership. (The pass-through properties are
checked by the chosen client: tests/transport/<client>/test_config.py.)"""

from __future__ import annotations

from guard.config.settings import KafkaSettings


def test_static_membership_is_on_by_default_with_the_instance_id() -> None:
    assert KafkaSettings(instance_id="node-7").group_instance_id() == "node-7"


def test_static_membership_can_be_switched_off() -> None:
    assert KafkaSettings(instance_id="node-7", static_membership=False).group_instance_id() is None


def test_group_instance_id_replaces_characters_kafka_refuses() -> None:
    assert KafkaSettings(instance_id="pod/7 a:b").group_instance_id() == "pod_7_a_b"


def test_partition_fetch_bytes_default_to_kafkas_one_mib_whatever_the_record_limit() -> None:
    assert KafkaSettings(max_request_size=64 * 1024 * 1024).partition_fetch_bytes() == 1_048_576
    assert KafkaSettings(max_partition_fetch_bytes=2048).partition_fetch_bytes() == 2048
