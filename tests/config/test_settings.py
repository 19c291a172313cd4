"""Service settings: YAML file, GUARD_* environment overrides, validation errors."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from guard.config import load_settings
from guard.config.settings import KafkaSettings
from guard.errors import ConfigError
from guard.transport.kafka_python.config import common
from tests.fixtures.paths import REPO

MINIMAL = "topics:\n  orders: {subject: orders}\n"


pytestmark = pytest.mark.usefixtures("no_guard_env")


def _config(tmp_path: Path, text: str, name: str = "guard.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _error(path: Path | None) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    return str(info.value)


def test_minimal_file_gets_defaults(tmp_path: Path) -> None:
    settings = load_settings(_config(tmp_path, MINIMAL))
    assert settings.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert settings.kafka.group_id == "ingest-guard"
    assert settings.version_header == "schema-version"
    assert settings.tombstones == "quarantine"
    assert settings.expose_values is False
    assert (settings.limits.max_bytes, settings.limits.max_depth) == (1_048_576, 64)
    assert settings.topics["orders"].accepted_versions == "latest"


def test_yaml_values_are_read(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        """\
        kafka: {bootstrap_servers: "b1:9092,b2:9092", group_id: g1}
        version_header: v
        tombstones: forward
        limits: {max_bytes: 2048}
        topics:
          orders: {subject: orders, accepted_versions: [2, 1], valid_topic: clean}
        """,
    )
    settings = load_settings(path)
    assert settings.kafka.group_id == "g1"
    assert common(settings.kafka)["bootstrap_servers"] == ["b1:9092", "b2:9092"]
    assert settings.version_header == "v"
    assert settings.tombstones == "forward"
    assert settings.limits.max_bytes == 2048
    route = settings.topics["orders"]
    assert route.accepted_versions == [2, 1]
    assert route.valid_for("orders") == "clean"
    assert route.quarantine_for("orders") == "orders.quarantine"


def test_route_defaults_to_dot_valid_and_dot_quarantine(tmp_path: Path) -> None:
    route = load_settings(_config(tmp_path, MINIMAL)).topics["orders"]
    assert (route.valid_for("orders"), route.quarantine_for("orders")) == (
        "orders.valid",
        "orders.quarantine",
    )


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _config(tmp_path, "kafka: {group_id: from-file}\n" + MINIMAL)
    monkeypatch.setenv("GUARD_KAFKA__GROUP_ID", "from-env")
    assert load_settings(path).kafka.group_id == "from-env"


def test_partial_nested_env_override_keeps_other_yaml_keys_of_that_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config(
        tmp_path,
        "kafka: {group_id: from-file, client_id: file-client, bootstrap_servers: 'b:1'}\n"
        + MINIMAL,
    )
    monkeypatch.setenv("GUARD_KAFKA__GROUP_ID", "from-env")
    kafka = load_settings(path).kafka
    assert (kafka.group_id, kafka.client_id, kafka.bootstrap_servers) == (
        "from-env",
        "file-client",
        "b:1",
    )


def test_top_level_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARD_EXPOSE_VALUES", "true")
    assert load_settings(_config(tmp_path, MINIMAL)).expose_values is True


def test_settings_without_file_come_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARD_TOPICS", '{"orders": {"subject": "orders"}}')
    monkeypatch.setenv("GUARD_LIMITS__MAX_DEPTH", "10")
    settings = load_settings(None)
    assert settings.topics["orders"].subject == "orders"
    assert settings.limits.max_depth == 10


def test_invalid_env_value_names_its_key_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config(tmp_path, MINIMAL)
    monkeypatch.setenv("GUARD_KAFKA__REQUEST_TIMEOUT_MS", "soon")
    message = _error(path)
    # The variable is what to fix, not the file: the message names it and not the file.
    assert message.startswith("environment: invalid configuration")
    assert "kafka.request_timeout_ms (from GUARD_KAFKA__REQUEST_TIMEOUT_MS):" in message
    assert str(path) not in message and "soon" not in message


def test_errors_in_file_and_environment_each_name_their_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config(tmp_path, MINIMAL + "batch: {max_records: -1}\n")
    monkeypatch.setenv("guard_kafka__client", "kafka-pyton")  # any case, as pydantic reads it
    message = _error(path)
    assert message.startswith(f"{path}: invalid configuration")
    assert "kafka.client (from guard_kafka__client):" in message
    assert "\n  batch.max_records: " in message  # from the file: no variable named


def test_a_section_variable_that_is_not_json_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUARD_KAFKA", "{bootstrap_servers: x}")
    message = _error(_config(tmp_path, MINIMAL))
    assert message.startswith("environment: GUARD_KAFKA: cannot parse its value as JSON")


def test_out_of_range_yaml_value_names_its_key_path(tmp_path: Path) -> None:
    assert "limits.max_depth:" in _error(_config(tmp_path, "limits: {max_depth: 0}\n" + MINIMAL))


def test_invalid_choice_names_its_key_path(tmp_path: Path) -> None:
    assert "log.level:" in _error(_config(tmp_path, "log: {level: LOUD}\n" + MINIMAL))


def test_invalid_accepted_versions_names_the_route(tmp_path: Path) -> None:
    path = _config(tmp_path, "topics:\n  orders: {subject: orders, accepted_versions: newest}\n")
    assert "topics.orders.accepted_versions" in _error(path)


def test_unknown_key_is_rejected_with_its_path(tmp_path: Path) -> None:
    assert "kafka.group:" in _error(_config(tmp_path, "kafka: {group: g}\n" + MINIMAL))


def test_unknown_top_level_key_is_rejected(tmp_path: Path) -> None:
    assert "topic:" in _error(_config(tmp_path, "topic: x\n" + MINIMAL))


def test_every_problem_is_listed(tmp_path: Path) -> None:
    message = _error(
        _config(tmp_path, "limits: {max_depth: 0}\nbatch: {max_records: 0}\n" + MINIMAL)
    )
    assert "limits.max_depth:" in message
    assert "batch.max_records:" in message


def test_missing_topics_is_rejected(tmp_path: Path) -> None:
    assert "topics:" in _error(_config(tmp_path, "kafka: {group_id: g}\n"))


def test_empty_topics_is_rejected(tmp_path: Path) -> None:
    assert "topics:" in _error(_config(tmp_path, "topics: {}\n"))


def test_route_writing_into_its_own_source_topic_is_rejected(tmp_path: Path) -> None:
    path = _config(tmp_path, "topics:\n  orders: {subject: orders, valid_topic: orders}\n")
    assert "route 'orders' writes into a source topic ['orders']" in _error(path)


def test_route_writing_into_another_source_topic_is_rejected(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        """\
        topics:
          orders: {subject: orders, quarantine_topic: payments}
          payments: {subject: payments}
        """,
    )
    assert "route 'orders' writes into a source topic ['payments']" in _error(path)


def test_default_route_names_colliding_with_a_source_are_rejected(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        "topics:\n  orders: {subject: orders}\n  orders.valid: {subject: orders}\n",
    )
    assert "writes into a source topic ['orders.valid']" in _error(path)


def test_relative_schemas_dir_is_resolved_against_the_config_folder(tmp_path: Path) -> None:
    path = _config(tmp_path, "schemas_dir: contracts\n" + MINIMAL, name="etc/guard.yaml")
    assert load_settings(path).schemas_dir == (tmp_path / "etc" / "contracts").resolve()


def test_relative_schemas_dir_with_parent_parts_is_resolved(tmp_path: Path) -> None:
    path = _config(tmp_path, "schemas_dir: ../schemas\n" + MINIMAL, name="etc/guard.yaml")
    assert load_settings(path).schemas_dir == (tmp_path / "schemas").resolve()


def test_absolute_schemas_dir_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "abs"
    path = _config(tmp_path, f"schemas_dir: {target}\n" + MINIMAL, name="etc/guard.yaml")
    assert load_settings(path).schemas_dir == target


def test_schemas_dir_from_environment_wins_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config(tmp_path, "schemas_dir: contracts\n" + MINIMAL, name="etc/guard.yaml")
    monkeypatch.setenv("GUARD_SCHEMAS_DIR", "/srv/schemas")
    assert load_settings(path).schemas_dir == Path("/srv/schemas")


def test_default_transactional_id_is_group_dash_instance(tmp_path: Path) -> None:
    path = _config(tmp_path, "kafka: {group_id: g1, instance_id: node-7}\n" + MINIMAL)
    assert load_settings(path).kafka.effective_transactional_id() == "g1-node-7"


def test_explicit_transactional_id_wins() -> None:
    kafka = KafkaSettings(group_id="g", instance_id="i", transactional_id="tx-1")
    assert kafka.effective_transactional_id() == "tx-1"


def test_instance_id_defaults_to_the_host_name() -> None:
    import socket

    assert KafkaSettings().instance_id == socket.gethostname()


def test_redacted_dump_masks_the_password(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        "kafka: {security_protocol: SASL_PLAINTEXT, sasl_mechanism: PLAIN,"
        " sasl_plain_username: u, sasl_plain_password: hunter2}\n" + MINIMAL,
    )
    settings = load_settings(path)
    assert "hunter2" not in repr(settings.redacted())
    assert common(settings.kafka)["sasl_plain_password"] == "hunter2"


def test_registry_credentials_in_the_url_are_kept_out_of_the_redacted_dump(
    tmp_path: Path,
) -> None:
    text = "schema_registry: {url: 'https://svc%40acme:p%3Ass@registry:8081/sr'}\n" + MINIMAL
    registry = load_settings(_config(tmp_path, text)).schema_registry
    assert registry.url == "https://registry:8081/sr"
    assert registry.username == "svc@acme"
    assert registry.password is not None and registry.password.get_secret_value() == "p:ss"
    assert "p%3Ass" not in repr(load_settings(_config(tmp_path, text)).redacted())


def test_envelope_hmac_key_is_a_secret_kept_out_of_the_redacted_dump(tmp_path: Path) -> None:
    settings = load_settings(_config(tmp_path, "quarantine: {hmac_key: s3cret-k}\n" + MINIMAL))
    assert "s3cret-k" not in repr(settings.redacted())
    assert settings.quarantine.key_bytes() == b"s3cret-k"


def test_without_an_envelope_key_there_is_none(tmp_path: Path) -> None:
    assert load_settings(_config(tmp_path, MINIMAL)).quarantine.key_bytes() is None


def test_client_config_omits_sasl_without_a_mechanism() -> None:
    assert "sasl_mechanism" not in common(KafkaSettings())


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(_config(tmp_path, MINIMAL))
    with pytest.raises(Exception, match="frozen"):
        settings.version_header = "x"  # type: ignore[misc]


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    message = _error(tmp_path / "missing.yaml")
    assert "cannot read config" in message
    assert "missing.yaml" in message


def test_invalid_yaml_is_a_config_error(tmp_path: Path) -> None:
    assert "not valid YAML" in _error(_config(tmp_path, "topics: [\n"))


def test_non_mapping_top_level_is_a_config_error(tmp_path: Path) -> None:
    assert "expected a mapping at the top level" in _error(_config(tmp_path, "- a\n- b\n"))


def test_empty_file_falls_back_to_defaults_and_needs_topics(tmp_path: Path) -> None:
    assert "topics:" in _error(_config(tmp_path, ""))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"retry": {"initial_backoff_ms": 5000, "max_backoff_ms": 100}}, "initial_backoff_ms"),
        (
            {"topics": {"t": {"subject": "s", "valid_topic": "x", "quarantine_topic": "x"}}},
            "must differ",
        ),
    ],
)
def test_contradictory_settings_are_rejected_at_start(
    override: dict[str, object], message: str
) -> None:
    from guard.config.settings import GuardSettings

    data: dict[str, object] = {"topics": {"t": {"subject": "s"}}, **override}
    with pytest.raises(ValidationError, match=message):
        GuardSettings(**data)  # type: ignore[arg-type]


def test_tls_settings_reach_the_kafka_client_only_for_tls_protocols(tmp_path: Path) -> None:
    from guard.config.settings import KafkaSettings

    ca = tmp_path / "ca.pem"
    ca.write_text("")  # a client is configured only with the files it names in place
    tls = common(KafkaSettings(security_protocol="SSL", ssl_cafile=ca, ssl_password="pw"))
    assert (
        tls["ssl_cafile"] == str(ca) and tls["ssl_password"] == "pw" and tls["ssl_check_hostname"]
    )
    assert "ssl_cafile" not in common(KafkaSettings(ssl_cafile=ca))


def test_a_config_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "guard.yaml"
    path.write_bytes(b"topics:\n  t: {subject: \xff}\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(path)


SASL = "kafka: {security_protocol: SASL_PLAINTEXT, %s}\n" + MINIMAL


def test_a_misspelt_sasl_mechanism_fails_at_load_naming_the_key(tmp_path: Path) -> None:
    text = SASL % "sasl_mechanism: PLAN, sasl_plain_username: u, sasl_plain_password: hunter2"
    message = _error(_config(tmp_path, text))
    assert "kafka.sasl_mechanism: Input should be 'PLAIN', 'SCRAM-SHA-256' or" in message
    assert "hunter2" not in message


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_a_sasl_mechanism_without_a_username_fails_at_load_naming_the_key(
    tmp_path: Path, mechanism: str
) -> None:
    text = SASL % f"sasl_mechanism: {mechanism}, sasl_plain_password: hunter2"
    message = _error(_config(tmp_path, text))
    assert f"kafka.sasl_plain_username: required with sasl_mechanism {mechanism}" in message
    assert "hunter2" not in message


def test_a_sasl_mechanism_without_a_password_fails_at_load(tmp_path: Path) -> None:
    message = _error(_config(tmp_path, SASL % "sasl_mechanism: PLAIN, sasl_plain_username: u"))
    assert "kafka.sasl_plain_password: required with sasl_mechanism PLAIN" in message


def test_a_sasl_protocol_without_a_mechanism_fails_at_load(tmp_path: Path) -> None:
    message = _error(_config(tmp_path, "kafka: {security_protocol: SASL_SSL}\n" + MINIMAL))
    assert "kafka.sasl_mechanism: required with security_protocol SASL_SSL" in message


def test_a_sasl_mechanism_over_plaintext_fails_at_load(tmp_path: Path) -> None:
    text = "kafka: {sasl_mechanism: PLAIN, sasl_plain_username: u, sasl_plain_password: p}\n"
    message = _error(_config(tmp_path, text + MINIMAL))
    assert "kafka.security_protocol: must be SASL_PLAINTEXT or SASL_SSL" in message


def test_errors_speak_config_keys_not_pydantic_internals_and_list_every_problem(
    tmp_path: Path,
) -> None:
    text = """\
        batch: {max_records: 0}
        log: {levle: INFO}
        topics:
          orders: {subject: orders, accepted_versions: sometimes}
        """
    message = _error(_config(tmp_path, text))
    assert "literal[" not in message and "list[int]" not in message
    assert "topics.orders.accepted_versions: Input should be 'latest' or 'all'" in message
    assert "batch.max_records:" in message and "log.levle: unknown key" in message


def test_the_old_monitoring_metrics_port_names_its_new_place(tmp_path: Path) -> None:
    message = _error(_config(tmp_path, "monitoring: {metrics_port: 9100}\n" + MINIMAL))
    assert "monitoring.metrics_port: moved to metrics.port" in message


def test_metrics_are_off_and_bound_to_loopback_by_default(tmp_path: Path) -> None:
    metrics = load_settings(_config(tmp_path, MINIMAL)).metrics
    assert (metrics.port, metrics.host) == (None, "127.0.0.1")


def test_state_dir_is_relative_to_the_config_file(tmp_path: Path) -> None:
    settings = load_settings(_config(tmp_path, "state_dir: st\n" + MINIMAL, "conf/guard.yaml"))
    assert settings.state_dir == (tmp_path / "conf" / "st").resolve()


def test_state_dir_defaults_to_state_beside_the_config_file(tmp_path: Path) -> None:
    settings = load_settings(_config(tmp_path, MINIMAL, "conf/guard.yaml"))
    assert settings.state_dir == (tmp_path / "conf" / "state").resolve()


def test_the_example_config_shows_the_code_defaults_for_client_tuning() -> None:
    """examples/guard.yaml calls its tuning values measured defaults: they are the code's,
    and the README's (`linger_ms` defaults to 5)."""
    repo = REPO
    example = yaml.safe_load((repo / "examples" / "guard.yaml").read_text())["kafka"]
    defaults = KafkaSettings()
    tuning = ("linger_ms", "batch_size", "compression", "fetch_min_bytes", "fetch_max_wait_ms")
    for key in (*tuning, "max_poll_records", "flush_before_offsets"):
        assert example[key] == getattr(defaults, key), key
    readme = (repo / "README.md").read_text()
    said = re.search(r"`linger_ms` defaults to (\d+)", readme)
    assert said and int(said.group(1)) == defaults.linger_ms == example["linger_ms"]


def test_a_further_checks_problem_names_the_file_and_its_key(tmp_path: Path) -> None:
    """How a higher layer's check (the chosen client's, of its pass-through properties)
    reports a problem: like an invalid key."""

    def refuse(_settings: object) -> None:
        raise ValueError("kafka.producer_properties: producer property 'x' is wrong")

    path = _config(tmp_path, MINIMAL)
    with pytest.raises(ConfigError) as info:
        load_settings(path, check=refuse)
    assert str(info.value) == (
        f"{path}: invalid configuration\n"
        "  kafka.producer_properties: producer property 'x' is wrong"
    )


def test_a_further_checks_problem_set_by_the_environment_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(_settings: object) -> None:
        raise ValueError("kafka.producer_properties: producer property 'x' is wrong")

    monkeypatch.setenv("GUARD_KAFKA__PRODUCER_PROPERTIES", '{"x": 1}')
    with pytest.raises(ConfigError) as info:
        load_settings(_config(tmp_path, MINIMAL), check=refuse)
    assert str(info.value).startswith(
        "environment: invalid configuration\n"
        "  kafka.producer_properties (from GUARD_KAFKA__PRODUCER_PROPERTIES): producer property"
    )


def test_the_further_check_sees_the_loaded_settings(tmp_path: Path) -> None:
    seen: list[str] = []
    load_settings(_config(tmp_path, MINIMAL), check=lambda s: seen.append(s.kafka.client))
    assert seen == ["kafka-python"]


def test_a_key_written_twice_is_refused_not_the_first_dropped(tmp_path: Path) -> None:
    path = _config(tmp_path, MINIMAL + "kafka: {group_id: g}\ntopics:\n  payments: {subject: p}\n")
    message = _error(path)
    assert message.startswith(f"{path}: not valid YAML")
    assert "found duplicate key 'topics'" in message
    assert "line 4" in message


def test_a_yaml_merge_key_may_still_be_overridden(tmp_path: Path) -> None:
    merged = MINIMAL + "kafka:\n  <<: {group_id: g, client_id: c}\n  group_id: h\n"
    settings = load_settings(_config(tmp_path, merged))
    assert (settings.kafka.group_id, settings.kafka.client_id) == ("h", "c")


@pytest.mark.parametrize("value", ["[1]", "5", "null", "{a: b}"])
def test_a_dir_setting_that_is_not_text_is_refused_by_name_not_made_a_path(
    tmp_path: Path, value: str
) -> None:
    message = _error(_config(tmp_path, MINIMAL + f"state_dir: {value}\n"))
    assert "state_dir: Input is not a valid path" in message


@pytest.mark.parametrize(
    "variable", ["GUARD_MONITORING__VALUE_HASH_KEY", "GUARD_QUARANTINE__HMAC_KEY"]
)
def test_an_empty_secret_key_is_refused_not_used_as_a_key_everyone_knows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "")  # as an unset CI secret expands
    message = _error(_config(tmp_path, MINIMAL))
    key = variable.removeprefix("GUARD_").lower().replace("__", ".")
    assert f"{key} (from {variable}): empty: give a secret, or leave the key out" in message


@pytest.mark.parametrize("servers", ["", " ", "broker:9092,", "a:1,,b:2"])
def test_bootstrap_servers_with_an_empty_address_is_a_config_error(
    tmp_path: Path, servers: str
) -> None:
    message = _error(_config(tmp_path, MINIMAL + f'kafka: {{bootstrap_servers: "{servers}"}}\n'))
    assert "kafka.bootstrap_servers: needs host:port addresses" in message


def test_a_tls_file_that_does_not_exist_is_a_config_error_for_tls_protocols(
    tmp_path: Path,
) -> None:
    from guard.config.settings import check_tls_files
    from guard.transport.confluent.config import common as confluent_common
    from guard.transport.kafka_python.config import common as kafka_python_common

    ca = tmp_path / "missing-ca.pem"
    tls = MINIMAL + f"kafka: {{security_protocol: SSL, ssl_cafile: {ca}}}\n"
    # Loading needs no certificate (`guard baseline build --config` in CI never connects)...
    kafka = load_settings(_config(tmp_path, tls)).kafka
    # ...configuring a client on either transport does.
    for check in (check_tls_files, confluent_common, kafka_python_common):
        with pytest.raises(ConfigError, match=f"kafka.ssl_cafile: no such file: {ca}"):
            check(kafka)
    plain = MINIMAL + f"kafka: {{ssl_cafile: {ca}}}\n"  # not opened without TLS
    check_tls_files(load_settings(_config(tmp_path, plain, "plain.yaml")).kafka)
    ca.write_text("")
    check_tls_files(kafka)


@pytest.mark.parametrize(
    ("client", "role", "name"),
    [
        ("kafka-python", "consumer", "ssl_crlfile"),
        ("kafka-python", "producer", "ssl_cafile"),
        ("confluent", "consumer", "ssl.ca.location"),
        ("confluent", "producer", "ssl.certificate.location"),
        ("confluent", "producer", "ssl.key.location"),
    ],
)
def test_a_tls_file_named_by_a_pass_through_property_that_does_not_exist_is_a_config_error(
    tmp_path: Path, client: str, role: str, name: str
) -> None:
    from guard.transport.confluent.config import common as confluent_common
    from guard.transport.kafka_python.config import common as kafka_python_common

    missing = tmp_path / "missing.pem"
    props = {f"{role}_properties": {name: str(missing)}}
    kafka = KafkaSettings.model_validate({"client": client, "security_protocol": "SSL", **props})
    configure = confluent_common if client == "confluent" else kafka_python_common
    with pytest.raises(ConfigError, match=f"kafka.{role}_properties.{name}: no such file: "):
        configure(kafka)
    missing.write_text("")
    configure(kafka)


@pytest.mark.parametrize("location", ["probe", "a directory"])
def test_librdkafkas_ca_location_may_be_probe_or_a_directory(tmp_path: Path, location: str) -> None:
    from guard.transport.confluent.config import common as confluent_common

    value = str(tmp_path) if location == "a directory" else location
    props = {"consumer_properties": {"ssl.ca.location": value}}
    confluent_common(KafkaSettings.model_validate({"security_protocol": "SSL", **props}))
