"""Service configuration: one YAML file plus environment overrides, validated at start.

Precedence: environment (`GUARD_` prefix, `__` between levels, e.g.
`GUARD_KAFKA__BOOTSTRAP_SERVERS=broker:9092`) over the YAML file over defaults.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import urllib.parse
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from guard.contracts.spec import DriftSpec, Positive, PValue, Rate
from guard.errors import ConfigError


def _not_empty(key: SecretStr | None) -> SecretStr | None:
    """A secret key set to nothing (an unset CI or Kubernetes secret expands to "") is a
    key everyone knows: an HMAC under it protects nothing. Refused, never used."""
    if key is not None and not key.get_secret_value():
        raise ValueError("empty: give a secret, or leave the key out")
    return key


def split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """`url` without its user:password@ part, and that user and password (unquoted)."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    netloc = parts.netloc.rpartition("@")[2]
    username = urllib.parse.unquote(parts.username) if parts.username is not None else None
    password = urllib.parse.unquote(parts.password) if parts.password is not None else None
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc)), username, password


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


KafkaClient = Literal["kafka-python", "confluent"]
# A closed set: a typo (`PLAN`) fails at load, not 30 s later at the first connection.
# OAUTHBEARER is left out: kafka-python takes its token provider as an object, not a setting.
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


# Both clients reconnect to a broker at most this long after it is back.
RECONNECT_BACKOFF_MAX_MS = 1000
BOOTSTRAP_TIMEOUT_MAX_MS = 5_000  # kafka-python's first connection (see its config)

# A pass-through client property's value (`kafka.producer_properties`).
PropertyValue = str | int | float | bool


class KafkaSettings(_Section):
    # Which client library carries the records (guard/transport/factory.py picks it).
    client: KafkaClient = "kafka-python"
    bootstrap_servers: str = "127.0.0.1:9092"
    group_id: str = "ingest-guard"
    # Must be unique per running instance and stable across its restarts, so a restarted
    # instance fences its own zombie; defaults to "<group_id>-<instance_id>".
    transactional_id: str | None = None
    instance_id: str = Field(default_factory=socket.gethostname)
    client_id: str = "ingest-guard"
    request_timeout_ms: int = Field(default=30_000, ge=1000)
    # How long the broker keeps a dead instance's open transaction before aborting it; until
    # then read_committed readers of the outputs, and the member that takes its partitions
    # over, wait at its first record. 10 s as Kafka Streams' exactly-once: a batch's
    # transaction lasts well under a second. It may be shorter than request_timeout_ms: a
    # transaction the broker aborts while the guard still waits fails its commit, and the
    # batch is retried (docs/reliability.md, "Recovery bounds").
    transaction_timeout_ms: int = Field(default=10_000, ge=1000)
    # Quarantine keeps the original bytes, so the producer must accept what the source holds.
    max_request_size: int = Field(default=16 * 1024 * 1024, ge=1024)
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_plain_username: str | None = None
    sasl_plain_password: SecretStr | None = None
    # TLS (security_protocol SSL / SASL_SSL): a private CA and an optional client certificate.
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_password: SecretStr | None = None
    ssl_check_hostname: bool = True
    create_topics: bool = True
    replication_factor: int = -1  # -1: the broker's default
    # Where a group with no committed offset starts reading.
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    # Static group membership (group.instance.id = instance_id): a restarted instance gets
    # its partitions back at once instead of waiting for a rebalance; a stopped one keeps
    # them until session_timeout_ms passes, then the group rebalances without it.
    static_membership: bool = True
    # 10 s (Kafka's default before 3.0): a killed instance's partitions go to the others
    # within seconds; heartbeats run in the clients' own threads, so a long batch never
    # counts against it.
    session_timeout_ms: int = Field(default=10_000, ge=6000)
    # Throughput tuning, both clients (README: Choosing a client). Batches of 1 MiB, not
    # kafka-python's old 16 KiB (2.7k -> 3.5k records/s). Linger 5 ms: the service hands records
    # to the producer a slice at a time while it validates the rest, and a longer linger only
    # holds them back (2 KB records on confluent: 7.1k-8.6k records/s at 5, 5.7k-6.5k at 100).
    linger_ms: int = Field(default=5, ge=0)
    batch_size: int = Field(default=1_048_576, ge=1)  # bytes per partition batch
    compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = "none"
    fetch_min_bytes: int = Field(default=1, ge=1)
    # How long the broker holds a fetch while fewer than fetch_min_bytes are ready: bounds the
    # latency of a quiet stream (kafka-python's own default is 500).
    fetch_max_wait_ms: int = Field(default=100, ge=0)
    # Fetched bytes buffered per partition (Kafka's own default). Not a record size limit: the
    # broker returns a first batch larger than this whole (KIP-74), so a 10 MB record still
    # flows. It bounds memory: at max_request_size (16 MiB) a backlog of small records kept up
    # to 48 MB buffered over 3 partitions, and RSS rose in steps over a 1M-record run.
    max_partition_fetch_bytes: int = Field(default=1_048_576, ge=1024)
    max_poll_records: int = Field(default=500, ge=1)  # readers; the service uses batch size
    # confluent only: flush the batch's records before sending its offsets to the transaction.
    # Measured (same runs): a raw confluent-kafka transactional copy 32k records/s with it,
    # 12.5k without; the guard on confluent 9.5k with it, 8.7k without (7.1k/7.9k in a
    # second run: within noise once validation dominates).
    flush_before_offsets: bool = True
    # Other client properties, in the chosen client's own names (kafka-python: check_crcs;
    # confluent: queue.buffering.max.kbytes); the chosen client checks them at start-up (its
    # config.py, called through guard/transport/factory.py `load_checked_settings`).
    producer_properties: dict[str, PropertyValue] = Field(default_factory=dict)
    consumer_properties: dict[str, PropertyValue] = Field(default_factory=dict)

    def effective_transactional_id(self) -> str:
        return self.transactional_id or f"{self.group_id}-{self.instance_id}"

    def group_instance_id(self) -> str | None:
        """The static member id (instance_id made legal for Kafka), or None when dynamic."""
        if not self.static_membership:
            return None
        return re.sub(r"[^A-Za-z0-9._-]", "_", self.instance_id)[:249]

    def partition_fetch_bytes(self) -> int:
        return self.max_partition_fetch_bytes

    @field_validator("bootstrap_servers")
    @classmethod
    def _servers_named(cls, servers: str) -> str:
        """An empty list (an unset variable) or an empty entry ("a:9092,") is no address:
        refused at load (exit 2), not found out as a broker outage (exit 3) a minute later."""
        if any(not entry.strip() for entry in servers.split(",")):
            raise ValueError("needs host:port addresses separated by commas, none empty")
        return servers

    @model_validator(mode="after")
    def _sasl_fields(self) -> Self:
        """Each mechanism's fields are checked at load; messages name the key, never a value."""
        sasl_protocol = self.security_protocol.startswith("SASL_")
        if sasl_protocol and self.sasl_mechanism is None:
            raise ValueError(
                f"kafka.sasl_mechanism: required with security_protocol {self.security_protocol}"
            )
        if self.sasl_mechanism is not None and not sasl_protocol:
            raise ValueError(
                "kafka.security_protocol: must be SASL_PLAINTEXT or SASL_SSL when "
                "sasl_mechanism is set"
            )
        if self.sasl_mechanism is not None:  # PLAIN and SCRAM both need a user and a password
            missing = [
                key
                for key, value in (
                    ("sasl_plain_username", self.sasl_plain_username),
                    ("sasl_plain_password", self.sasl_plain_password),
                )
                if not value
            ]
            if missing:
                raise ValueError(
                    f"kafka.{missing[0]}: required with sasl_mechanism {self.sasl_mechanism}"
                )
        return self


PayloadFormat = Literal["json", "confluent-json", "confluent-avro"]


class Route(_Section):
    """One source topic and how its records are judged and where they go."""

    subject: str
    accepted_versions: Literal["latest", "all"] | list[int] = "latest"
    # json: plain JSON values; confluent-json / confluent-avro: Schema Registry framing (magic
    # byte, 4-byte schema id) around a JSON or Avro payload (guard/validation/wire.py).
    payload_format: PayloadFormat = "json"
    # The registry subject whose versions name contract versions (ids not pinned in
    # subject.yaml); default "<source topic>-value" (TopicNameStrategy).
    registry_subject: str | None = None
    valid_topic: str | None = None
    quarantine_topic: str | None = None

    def valid_for(self, source: str) -> str:
        return self.valid_topic or f"{source}.valid"

    def quarantine_for(self, source: str) -> str:
        return self.quarantine_topic or f"{source}.quarantine"

    @model_validator(mode="after")
    def _distinct_outputs(self) -> Self:
        if self.valid_topic is not None and self.valid_topic == self.quarantine_topic:
            raise ValueError("valid_topic and quarantine_topic must differ")
        return self


class SchemaRegistrySettings(_Section):
    """An optional Schema Registry to look up schema ids that no subject.yaml pins."""

    url: str | None = None
    timeout_ms: int = Field(default=5_000, ge=100)
    username: str | None = None
    password: SecretStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _credentials_out_of_url(cls, data: Any) -> Any:
        """`https://user:pass@registry` means username and password: the URL keeps neither
        (it is logged at start-up); explicit username/password win."""
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            return data
        url, username, password = split_userinfo(data["url"])
        if url == data["url"]:
            return data
        data = {**data, "url": url}
        if data.get("username") is None:
            data["username"], data["password"] = username, password
        return data


class QuarantineSettings(_Section):
    # guard: the guard.* envelope; connect: Kafka Connect's __connect.errors.* names where
    # Connect has one (guard.* for the rest, so replay works); both: every header of both.
    header_style: Literal["guard", "connect", "both"] = "guard"
    # Signs the lineage and attempt headers of records replay sends back to their source
    # topic, so the guard can trust them (the loop guard keeps counting); without a key every
    # incoming guard.* header is renamed guard.untrusted.* and attempts start at 1.
    hmac_key: SecretStr | None = None

    @field_validator("hmac_key")
    @classmethod
    def _no_empty_key(cls, key: SecretStr | None) -> SecretStr | None:
        return _not_empty(key)

    def key_bytes(self) -> bytes | None:
        return self.hmac_key.get_secret_value().encode() if self.hmac_key else None


class LimitSettings(_Section):
    max_bytes: int = Field(default=1_048_576, ge=1)
    max_depth: int = Field(default=64, ge=1, le=10_000)


class BatchSettings(_Section):
    max_records: int = Field(default=500, ge=1, le=100_000)
    poll_timeout_ms: int = Field(default=500, ge=1)


class RetrySettings(_Section):
    initial_backoff_ms: int = Field(default=200, ge=1)
    # Short: the first retry after a broker comes back waits at most this long.
    max_backoff_ms: int = Field(default=2_000, ge=1)
    max_attempts: int = Field(default=20, ge=1)  # consecutive failures before giving up
    # A failure streak (broker down, unreachable, refusing) ends the service with exit 3 once
    # this many seconds have passed since its first failure, whatever max_attempts says. With
    # the default request timeout (30 s per attempt) a dead broker ends in exit 3 within
    # about two minutes, not after max_attempts full timeouts.
    outage_budget_s: float = Field(default=60.0, gt=0)
    # Fenced (another member took this instance's static membership or transactional id) or a
    # fatal client error: the service replaces its clients and rejoins the group, at most
    # max_rejoins times within rejoin_window_s; past that it exits 3 (two instances running
    # with the same instance_id fence each other for ever).
    max_rejoins: int = Field(default=5, ge=0)
    rejoin_window_s: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.initial_backoff_ms > self.max_backoff_ms:
            raise ValueError("initial_backoff_ms must not exceed max_backoff_ms")
        return self


class ServiceSettings(_Section):
    """How the service loop ends when it cannot go on by itself (README: Stopping, Failures)."""

    # After SIGTERM/SIGINT the batch in flight is committed and the clients closed within this
    # many seconds; past it (a client call that does not return) the process exits with 3.
    stop_grace_s: float = Field(default=20.0, gt=0)
    # One step of the loop (a client call such as poll or commit, or routing one batch) held
    # longer than this is a stall: the watchdog logs it and ends the process with exit 3. It
    # must exceed the longest legitimate step (a commit waits up to 3 x request_timeout_ms).
    stall_timeout_s: float = Field(default=120.0, gt=0)


class LogSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "console"] = "json"
    # An INFO "progress" line (records in, valid, quarantined, lag) this often; 0: never.
    progress_seconds: float = Field(default=30.0, ge=0)


class MetricsSettings(_Section):
    """The service's Prometheus metrics and health endpoints: off unless a port is set.

    One HTTP server: `/metrics` (exposition), `/healthz` (503 when stalled), `/readyz`
    (503 until partitions are assigned and the loop recently made progress).
    """

    port: int | None = Field(default=None, ge=0, le=65_535)  # 0: any free port
    host: str = "127.0.0.1"  # 0.0.0.0 in a container, so Prometheus can reach it
    # /healthz fails when the loop made no progress for this long while partitions are
    # assigned or expected (the group's) with lag: progress is a commit, an idle poll with no
    # lag, or (owning no partition) the group's committed offsets moving or no lag left. The
    # service then also replaces its clients (a lost assignment or a stuck rebalance).
    # /readyz needs progress within ready_seconds.
    stall_seconds: float = Field(default=60.0, gt=0)
    ready_seconds: float = Field(default=30.0, gt=0)
    lag_seconds: float = Field(default=10.0, gt=0)  # how often consumer lag is read

    @model_validator(mode="after")
    def _ready_within_stall(self) -> Self:
        if self.ready_seconds > self.stall_seconds:
            raise ValueError("metrics.ready_seconds must not exceed metrics.stall_seconds")
        return self


class MonitorWindowSettings(_Section):
    """A window closes at whichever limit comes first (at least one must be set)."""

    records: int | None = Field(default=10_000, ge=1)
    seconds: float | None = Field(default=300.0, gt=0)
    # A source partition this instance owns that stays silent this long, where the baseline
    # had records coming (significantly: `thresholds.p_value`), raises a `volume` alert. A
    # silent stream closes no window, so the window checks alone never see it. Off (None)
    # unless set, as freshness checks are: only its owner knows how long a source may rest
    # (a baseline learned inside an hourly burst would call every gap between bursts a drop).
    silence_seconds: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_limit(self) -> MonitorWindowSettings:
        if self.records is None and self.seconds is None:
            raise ValueError("set records, seconds or both")
        return self


class BaselineSettings(_Section):
    # auto: the newest schemas/<subject>/baseline-v<N>.json, else learn one from the stream;
    # file: that file must exist; learn: always learn a new one from the first windows.
    source: Literal["auto", "file", "learn"] = "auto"
    version: int | None = Field(default=None, ge=1)  # pin baseline-v<N>.json (auto/file)
    learn_windows: int = Field(default=1, ge=1)
    save: bool = True  # write a learned baseline beside the contract (next free version)


class DriftThresholdSettings(DriftSpec):
    """Default thresholds: the per-field keys of a contract's `drift:`, plus window-level ones.

    `false` switches a check off everywhere; a field's `drift:` (or `monitoring.fields`) can
    still set it for that field.
    """

    null_rate_abs: Rate = 0.05
    null_rate_rel: Positive = 0.5  # only where the baseline has nulls and the abs check is quiet
    missing_rate_abs: Rate = 0.05
    type_change: Rate = 0.01
    psi: Positive = 0.2
    ks: Rate = 0.1
    wasserstein: Positive = 0.1  # in baseline standard deviations
    js: Rate = 0.1
    chi2_p: PValue = False
    new_categories: bool = True
    categorical: bool | None = None  # None: decide from the baseline (enum-like fields)
    volume_rel: Positive = 0.5  # |record rate change| / baseline rate
    quarantine_rate_abs: Rate = 0.05  # quarantined share above the baseline's
    new_fields: bool = True  # fields no baseline record had (declared under allow, or not)
    missing_fields: Rate = 0.05  # a field at least this common in the baseline is now absent
    # Family-wise significance: the chance that a stable window raises any alert at all
    # (Holm's correction over every test of the window; see guard/monitoring/drift.py).
    p_value: PValue = 0.05
    min_records: int = Field(default=100, ge=1)  # smaller windows are profiled, not checked
    min_values: int = Field(default=30, ge=1)  # per field, for distribution checks
    categorical_max: int = Field(default=50, ge=1)  # enum-like: at most this many values

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, data: Any) -> Any:
        """GUARD_MONITORING__THRESHOLDS__PSI=0.3 arrives as text: read numbers and false/off."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for key, value in data.items():
            if isinstance(value, str):
                text = value.strip().lower()
                if text in {"false", "off"}:
                    out[key] = False
                elif text == "true":
                    out[key] = True
                else:  # not a number: left as text, the field's own check names the problem
                    with contextlib.suppress(ValueError):
                        out[key] = float(text)
        return out


class SketchSettings(_Section):
    kll_k: int = Field(default=200, ge=8, le=65_535)  # unused since value summaries (kept)
    # Relative bin width of the value summaries (numbers, string/array lengths).
    value_accuracy: float = Field(default=0.005, gt=0.0, le=0.1)
    hll_lg_k: int = Field(default=12, ge=7, le=21)  # distinct-count sketch, 2^k buckets
    frequent_lg_max: int = Field(default=7, ge=3, le=12)  # category map of 2^n slots
    max_unknown_fields: int = Field(default=200, ge=0)  # undeclared paths tracked per window


class SequentialSettings(_Section):
    """Sequential detection between window closes (guard/monitoring/sequential.py): a
    two-sided CUSUM per numeric field on values standardised by the baseline."""

    enabled: bool = True
    # k, in baseline sd: half the smallest mean shift the CUSUM is tuned to find fast.
    reference_sd: float = Field(default=0.1, gt=0.0, le=2.0)
    # The chance that a stable stream raises any CUSUM alert within `horizon_records`
    # (over all of a subject's monitored fields and both directions).
    false_alarm: float = Field(default=0.02, gt=0.0, lt=1.0)
    horizon_records: int = Field(default=30_000, ge=100)


class HistoryRule(_Section):
    """How one metric is judged against the window history (guard/monitoring/history.py)."""

    strategy: Literal["rate_of_change", "seasonal", "off"] = "rate_of_change"
    # rate_of_change: the largest rise and fall from the previous window (absolute for
    # rates, relative to the previous value for volume); None: unbounded.
    max_increase: float | None = Field(default=None, ge=0)
    max_decrease: float | None = Field(default=None, ge=0)
    # seasonal: the same time of day or week in past periods, +- tolerance residual sds,
    # at least min_band (absolute for rates, relative for volume).
    period: Literal["daily", "weekly"] = "daily"
    tolerance: float = Field(default=5.0, gt=0)
    min_band: float = Field(default=0.0, ge=0)


class HistorySettings(_Section):
    """History-aware checks of volume, quarantine rate and null rates per window."""

    enabled: bool = True
    windows: int = Field(default=400, ge=2, le=10_000)  # summaries kept per subject/instance
    volume: HistoryRule = HistoryRule(strategy="seasonal", period="daily", min_band=0.1)
    quarantine_rate: HistoryRule = HistoryRule(max_increase=0.05)
    null_rate: HistoryRule = HistoryRule(max_increase=0.05, max_decrease=0.05)
    # Per subject and field path: the rule for that field's null rate.
    fields: dict[str, dict[str, HistoryRule]] = Field(default_factory=dict)


class MonitoringSettings(_Section):
    """Data-shape monitoring: window profiles, baselines and drift alerts (off by default)."""

    enabled: bool = False
    windows: MonitorWindowSettings = MonitorWindowSettings()
    drift_topic: str = "guard.drift"
    profiles_topic: str = "guard.profiles"  # compacted; key <subject>/<instance>/<window>
    profiles_retention_ms: int = Field(default=7 * 24 * 3600 * 1000, ge=60_000)
    # The open window's profile is republished (same key) at most this often, so
    # `guard drift status` sees current state; 0 publishes it with every batch.
    snapshot_seconds: float = Field(default=30.0, ge=0)
    baseline: BaselineSettings = BaselineSettings()
    thresholds: DriftThresholdSettings = DriftThresholdSettings()
    # Per-field overrides, over the contract's `drift:`: subject -> field path -> thresholds.
    fields: dict[str, dict[str, DriftSpec]] = Field(default_factory=dict)
    sketch: SketchSettings = SketchSettings()
    sequential: SequentialSettings = SequentialSettings()
    history: HistorySettings = HistorySettings()
    # Keys drift alerts hash new category values with (HMAC-SHA-256), so low-variety values
    # (currencies, countries) cannot be recovered by hashing candidates. Unset: a random key
    # per process (hashes then compare within one run only).
    value_hash_key: SecretStr | None = None

    @field_validator("value_hash_key")
    @classmethod
    def _no_empty_key(cls, key: SecretStr | None) -> SecretStr | None:
        return _not_empty(key)

    @model_validator(mode="before")
    @classmethod
    def _moved_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for old, new in (("metrics_port", "metrics.port"), ("metrics_host", "metrics.host")):
                if old in data:
                    raise ValueError(
                        f"monitoring.{old}: moved to {new} (the service's metrics and health "
                        "endpoints, drift metrics included)"
                    )
        return data


class GuardSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GUARD_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    kafka: KafkaSettings = KafkaSettings()
    schemas_dir: Path = Path("schemas")
    version_header: str = "schema-version"
    # A null value (tombstone) is quarantined as `null_value` by default: a delete marker
    # sent to a validated stream is most often a producer bug. `forward` passes it through
    # to the clean topic for compacted, delete-aware pipelines.
    tombstones: Literal["quarantine", "forward"] = "quarantine"
    expose_values: bool = False  # opt-in: error entries may then carry the offending value
    limits: LimitSettings = LimitSettings()
    quarantine: QuarantineSettings = QuarantineSettings()
    schema_registry: SchemaRegistrySettings = SchemaRegistrySettings()
    batch: BatchSettings = BatchSettings()
    retry: RetrySettings = RetrySettings()
    service: ServiceSettings = ServiceSettings()
    log: LogSettings = LogSettings()
    metrics: MetricsSettings = MetricsSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    # Shadow rollout (`status: candidate` versions): each instance run's counts, compacted;
    # `guard shadow status` merges them (docs/rules.md).
    shadow_topic: str = "guard.shadow"
    # Learned baselines and other state the service writes: never into schemas_dir, which is
    # version-controlled. Relative to the config file (default: `state/` beside it).
    state_dir: Path = Path("state")
    # A source topic that does not exist: `fail` at start (exit 2), or `wait` for it (polling
    # every few seconds), never a silent 1-partition output topic.
    missing_sources: Literal["fail", "wait"] = "fail"
    # Retention of quarantine topics the guard creates: long enough to fix a producer and
    # replay (30 days); -1 keeps them forever.
    quarantine_retention_ms: int = Field(default=30 * 24 * 3600 * 1000, ge=-1)
    topics: dict[str, Route] = Field(min_length=1)

    @field_validator("topics")
    @classmethod
    def _no_loops(cls, topics: dict[str, Route]) -> dict[str, Route]:
        for source, route in topics.items():
            outs = {route.valid_for(source), route.quarantine_for(source)}
            if outs & set(topics):
                raise ValueError(
                    f"route {source!r} writes into a source topic {sorted(outs & set(topics))}"
                )
        return topics

    @model_validator(mode="after")
    def _stall_after_slowest_step(self) -> Self:
        # flush + send offsets + commit each wait up to request_timeout_ms.
        slowest = 3 * self.kafka.request_timeout_ms / 1000
        if self.service.stall_timeout_s <= slowest:
            raise ValueError(
                f"service.stall_timeout_s ({self.service.stall_timeout_s}) must exceed "
                f"3 x kafka.request_timeout_ms ({slowest:g} s): a commit may wait that long"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file arrives as init kwargs; the environment must win over it.
        return (env_settings, init_settings)

    def redacted(self) -> dict[str, Any]:
        """The settings as plain data, secrets masked: safe to log at start-up."""
        return self.model_dump(mode="json")


def load_settings(
    path: Path | str | None, check: Callable[[GuardSettings], None] | None = None
) -> GuardSettings:
    """Read the YAML file (if any), apply the environment, validate; errors are ConfigError.

    `check` is a higher layer's further check of the valid settings (the chosen client's
    check of its pass-through properties: `guard.transport.factory.load_checked_settings`);
    its ValueError, "<key>: <problem>", is reported like an invalid key."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        # A key written twice is refused, as in contract files: PyYAML keeps the last, so a
        # second `topics:` block would drop every route of the first without a word.
        from guard.contracts.registry import UniqueKeyLoader

        try:
            loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from exc
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        data = loaded or {}
        # Relative paths are relative to the config file, not the working directory.
        for key, env in (("schemas_dir", "GUARD_SCHEMAS_DIR"), ("state_dir", "GUARD_STATE_DIR")):
            # Only text is a path; anything else is left for validation to refuse by name.
            if isinstance(data.get(key), str) and env not in os.environ:
                data[key] = str((path.parent / data[key]).resolve())
        if "state_dir" not in data and "GUARD_STATE_DIR" not in os.environ:
            data["state_dir"] = str((path.parent / "state").resolve())  # beside the config
    try:
        settings = GuardSettings(**data)
    except ValidationError as exc:
        raise _invalid(path, describe_errors(exc, env_names=True)) from None
    except SettingsError as exc:  # a GUARD_<SECTION> variable holding JSON that does not parse
        found = re.search(r'field "(\w+)"', str(exc))
        name = f"GUARD_{found.group(1).upper()}" if found else "a GUARD_* variable"
        why = f": {exc.__cause__}" if exc.__cause__ else ""
        raise ConfigError(f"environment: {name}: cannot parse its value as JSON{why}") from None
    if check is not None:
        try:
            check(settings)
        except ValueError as exc:
            key, _, problem = str(exc).partition(": ")
            raise _invalid(path, [_problem_line(key, [problem], env_names=True)]) from None
    return settings


def check_tls_files(
    kafka: KafkaSettings, file_properties: Mapping[str, Collection[str]] | None = None
) -> None:
    """ConfigError naming each TLS file a TLS protocol would open that is not there. Checked
    where a client is configured (and by `guard config check`), not when settings load:
    commands that never connect (`guard baseline build --config` in CI) need no
    certificates. Without it the client finds out only once a broker answers, logs `No such
    file or directory` and retries it as an outage (exit 3).

    `file_properties` are the chosen client's pass-through properties that name a TLS file
    (its config.py's TLS_FILE_PROPERTIES), each with the values that are not a path
    (librdkafka's `probe`): a file named in `kafka.<role>_properties` is checked too."""
    if not kafka.security_protocol.endswith("SSL"):
        return
    missing = [
        _problem_line(f"kafka.{key}", [f"no such file: {file}"], env_names=True)
        for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile")
        if (file := getattr(kafka, key)) is not None and not Path(file).is_file()
    ]
    for role, props in (
        ("producer", kafka.producer_properties),
        ("consumer", kafka.consumer_properties),
    ):
        for name, value in props.items():
            not_paths = (file_properties or {}).get(name)
            # exists(), not is_file(): librdkafka's ssl.ca.location may be a directory.
            if not_paths is None or str(value) in not_paths or Path(str(value)).exists():
                continue
            key = f"kafka.{role}_properties.{name}"
            missing.append(_problem_line(key, [f"no such file: {value}"], env_names=True))
    if missing:
        raise ConfigError("invalid configuration\n" + "\n".join(missing))


def _invalid(path: Path | str | None, lines: list[str]) -> ConfigError:
    """One error listing every problem, blamed on the file unless the environment set all."""
    from_env = all("(from GUARD_" in line for line in lines)
    where = "environment" if from_env or path is None else str(path)
    return ConfigError(f"{where}: invalid configuration\n" + "\n".join(lines))


def describe_errors(exc: ValidationError, env_names: bool = False) -> list[str]:
    """Every problem, one line each, in the config's own key names: pydantic's union-member
    tags (`literal['latest','all']`, `list[int]`) are dropped and their messages merged.
    With `env_names`, a key set by a GUARD_* variable names that variable (it wins over the
    file, so the file is not what to fix)."""
    merged: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"] if not _is_type_tag(p)) or "(top level)"
        msg = str(err["msg"]).removeprefix("Value error, ")
        named, sep, rest = msg.partition(": ")
        if sep and (named == loc or named.startswith(f"{loc}.") or loc == "(top level)"):
            loc, msg = named, rest  # our own validators name the key (of a section's field)
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        msgs = merged.setdefault(loc, [])
        if msg not in msgs:
            msgs.append(msg)
    return [_problem_line(loc, msgs, env_names) for loc, msgs in merged.items()]


def _problem_line(loc: str, msgs: list[str], env_names: bool) -> str:
    rest = "".join(f", or {m.removeprefix('Input should be ')}" for m in msgs[1:])
    var = _env_variable(loc) if env_names else None
    source = f" (from {var})" if var else ""
    return f"  {loc}{source}: {msgs[0]}{rest}"


def _env_variable(loc: str) -> str | None:
    """The set GUARD_* variable that supplies the key `loc` (or a section holding it)."""
    present = {name.upper(): name for name in os.environ}
    parts = [p.upper() for p in loc.split(".") if not p.isdigit()]
    for depth in range(len(parts), 0, -1):
        name = "GUARD_" + "__".join(parts[:depth])
        if name in present:
            return present[name]
    return None


def _is_type_tag(part: int | str) -> bool:
    return isinstance(part, str) and ("[" in part or part in _TYPE_TAGS)


_TYPE_TAGS = {"int", "str", "float", "bool", "list", "dict", "none", "is-instance"}
