"""guard.transport.factory: the start-up check of pass-through properties against the
security settings the guard sets itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard.errors import ConfigError
from guard.transport.factory import load_checked_settings
from tests.fixtures.configs import write_with_topics

pytestmark = pytest.mark.usefixtures("no_guard_env")

# (client, pass-through name, the kafka.* setting that sets it, a value for that setting)
BOTH_WAYS = [
    ("kafka-python", "ssl_cafile", "ssl_cafile", "/etc/ca.pem"),
    ("kafka-python", "sasl_plain_username", "sasl_plain_username", "guard"),
    ("confluent", "ssl.ca.location", "ssl_cafile", "/etc/ca.pem"),
    ("confluent", "ssl.key.location", "ssl_keyfile", "/etc/key.pem"),
    ("confluent", "sasl.username", "sasl_plain_username", "guard"),
]


@pytest.mark.parametrize(("client", "name", "setting", "value"), BOTH_WAYS)
def test_a_security_property_also_set_by_its_kafka_setting_is_refused_naming_both(
    tmp_path: Path, client: str, name: str, setting: str, value: str
) -> None:
    path = write_with_topics(
        tmp_path,
        f"kafka: {{client: {client}, {setting}: '{value}',"
        f" consumer_properties: {{{name}: '/other'}}}}\n",
    )
    with pytest.raises(ConfigError) as info:
        load_checked_settings(path)
    message = str(info.value)
    assert f"kafka.consumer_properties: '{name}' is also set by kafka.{setting}" in message


@pytest.mark.parametrize(
    ("client", "name"), [("kafka-python", "ssl_cafile"), ("confluent", "ssl.ca.location")]
)
def test_a_security_property_passed_through_alone_is_accepted(
    tmp_path: Path, client: str, name: str
) -> None:
    path = write_with_topics(
        tmp_path, f"kafka: {{client: {client}, producer_properties: {{{name}: '/etc/ca.pem'}}}}\n"
    )
    assert load_checked_settings(path).kafka.producer_properties == {name: "/etc/ca.pem"}
