"""Topic settings read from DescribeConfigs entries: size limit and timestamp window."""

from __future__ import annotations

from guard.transport.base import TimestampWindow, TopicFacts
from guard.transport.topic_configs import timestamp_window, topic_facts, topic_id_text

LONG_MAX = str(2**63 - 1)


def test_kafka_4_defaults_bound_only_timestamps_ahead() -> None:
    entries = {
        "max.message.bytes": "1048588",
        "message.timestamp.type": "CreateTime",
        "message.timestamp.before.max.ms": LONG_MAX,
        "message.timestamp.after.max.ms": "3600000",
    }
    assert topic_facts(3, entries) == TopicFacts(3, 1_048_588, TimestampWindow(None, 3_600_000))


def test_log_append_time_takes_any_timestamp() -> None:
    entries = {"message.timestamp.type": "LogAppendTime", "message.timestamp.after.max.ms": "1"}
    assert timestamp_window(entries) is None


def test_no_bound_on_either_side_is_no_window() -> None:
    entries = {
        "message.timestamp.before.max.ms": LONG_MAX,
        "message.timestamp.after.max.ms": LONG_MAX,
    }
    assert timestamp_window(entries) is None


def test_a_broker_before_3_6_bounds_both_sides_with_its_one_setting() -> None:
    entries = {"message.timestamp.difference.max.ms": "60000"}
    assert timestamp_window(entries) == TimestampWindow(60_000, 60_000)


def test_settings_that_could_not_be_read_leave_only_the_partition_count() -> None:
    assert topic_facts(2, None) == TopicFacts(2)


def test_a_topic_id_reads_the_same_from_either_client() -> None:
    # kafka-python gives a UUID, librdkafka Kafka's own text (URL-safe base64, no padding).
    assert topic_id_text("264ebcdb-bed6-431d-bcf0-edb4cbb52dbe") == "Jk68277WQx288O20y7Utvg"
    assert topic_id_text("Jk68277WQx288O20y7Utvg") == "Jk68277WQx288O20y7Utvg"
