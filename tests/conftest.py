"""Shared fixtures: one real Kafka broker per test session, unique names per test."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from guard.localbroker import LocalKafka, LocalKafkaCluster

REPO = Path(__file__).resolve().parents[1]
SCHEMAS = REPO / "schemas"
_counter = itertools.count()


@pytest.fixture(scope="session")
def kafka() -> Iterator[LocalKafka]:
    """A single-node KRaft broker on 127.0.0.1, started once for the whole session."""
    with LocalKafka() as broker:
        yield broker


@pytest.fixture(scope="session")
def kafka_cluster() -> Iterator[LocalKafkaCluster]:
    """Three combined KRaft nodes on 127.0.0.1 (RF 3, min.insync.replicas 2, internal topics
    too), started once for the session. Tests that take nodes down bring them back."""
    with LocalKafkaCluster(3) as cluster:
        yield cluster


# The Kafka clients every broker test runs against (guard/transport/factory.py).
CLIENTS = ["kafka-python", "confluent"]


@pytest.fixture(params=CLIENTS)
def kafka_client(request: pytest.FixtureRequest) -> str:
    """The `kafka.client` under test: broker tests that take it run once per transport."""
    return str(request.param)


@pytest.fixture
def unique(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Topic/group names no other test (or earlier run against the same broker) uses."""
    run = uuid.uuid4().hex[:6]
    base = request.node.name.replace("[", "-").replace("]", "")[:40]

    def make(kind: str) -> str:
        return f"{base}.{kind}.{run}{next(_counter)}"

    return make


# Where the local broker's jars live: passed on to child processes, unlike service settings.
_BROKER_TOOL_VARS = {"GUARD_KAFKA_CACHE", "GUARD_KAFKA_VERSION"}


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    """Environment for a `guard` child process: no inherited GUARD_* service settings."""
    return {
        k: v for k, v in os.environ.items() if not k.startswith("GUARD_") or k in _BROKER_TOOL_VARS
    }
