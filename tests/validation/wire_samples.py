"""Framed test inputs made by confluent-kafka's own serializers (a mock registry client), so
the framing under test is the real one."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from guard.contracts import load_registry
from tests.fixtures.paths import SCHEMAS


def order(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "order_id": "c2b9546e-0f02-40f3-adb7-f1d5cbf15150",
        "customer_email": "customer3245@example.com",
        "amount": 431.49,
        "currency": "EUR",
        "quantity": 18,
        "created_at": "2026-11-13T05:15:00Z",
        "channel": "app",
    }
    base.update(overrides)
    return base


def avro_order(**overrides: Any) -> dict[str, Any]:
    """The same order as an Avro producer holds it: a datetime, every optional field named."""
    rec = {"coupon": None, "shipping": None, "items": None, **order(**overrides)}
    if isinstance(rec["created_at"], str):
        rec["created_at"] = datetime.fromisoformat(rec["created_at"]).astimezone(UTC)
    return rec


class Serializers:
    """A mock Schema Registry with orders v2 registered as Avro and as JSON Schema."""

    def __init__(self, topic: str = "orders") -> None:
        self.client = SchemaRegistryClient.new_client({"url": "mock://guard-tests"})
        v2 = load_registry(SCHEMAS).subject("orders").versions[2]
        from guard.contracts.avro import to_avro_schema

        self.avro_schema = json.dumps(to_avro_schema(v2))
        self.json_schema = json.dumps(v2.json_schema)
        self.topic = topic
        self._avro = AvroSerializer(self.client, self.avro_schema)
        self._json = JSONSerializer(self.json_schema, self.client, conf={"validate": False})
        self.avro_id = self._id_of(self.avro({**avro_order()}))
        self.json_id = self._id_of(self.json(order()))

    def avro(self, record: dict[str, Any]) -> bytes:
        out = self._avro(record, SerializationContext(self.topic, MessageField.VALUE))
        assert out is not None
        return out

    def json(self, record: dict[str, Any]) -> bytes:
        out = self._json(record, SerializationContext(self.topic, MessageField.VALUE))
        assert out is not None
        return out

    @staticmethod
    def _id_of(framed: bytes) -> int:
        return int.from_bytes(framed[1:5], "big")


def schemas_with_ids(tmp: Path, ids: dict[int, int | list[int]]) -> Path:
    """A copy of the repo's schemas/ whose orders subject pins `ids` (version -> id(s))."""
    root = tmp / "schemas"
    shutil.copytree(SCHEMAS, root)
    config = root / "orders" / "subject.yaml"
    config.write_text(config.read_text() + f"schema_ids: {json.dumps(ids)}\n")
    return root
