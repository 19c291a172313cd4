"""ingest-guard's contracts inside a Quix Streams application, exactly once.

Each record is judged by the guard's validator; invalid ones get the guard's envelope headers
and go to `<source>.dlq`, valid ones to `<source>.valid`, with their bytes untouched.
Run: python examples/api/quix_app.py BOOTSTRAP SOURCE
"""

from __future__ import annotations

import sys
from typing import Any

from quixstreams import Application, message_context

from guard.api import load_contracts

ENVELOPE = "guard.envelope"


def build(bootstrap: str, source: str, group: str, schemas_dir: str = "schemas") -> Application:
    orders = load_contracts(schemas_dir).validator("orders")
    app = Application(
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        processing_guarantee="exactly-once",
    )
    raw = app.topic(source, value_deserializer="bytes", value_serializer="bytes")
    valid = app.topic(f"{source}.valid", value_serializer="bytes")
    dlq = app.topic(f"{source}.dlq", value_serializer="bytes")

    def judge(value: bytes, key: Any, timestamp: int, headers: Any) -> list[tuple[str, bytes]]:
        headers = list(headers or [])
        version = next((v for k, v in headers if k == "schema-version"), None)
        verdict = orders.validate(value, version_header=version)
        if verdict.ok:
            return headers
        ctx = message_context()
        return orders.quarantine_headers(
            verdict,
            topic=ctx.topic,
            partition=ctx.partition,
            offset=ctx.offset,
            timestamp_ms=timestamp,
            headers=headers,
        )

    def destination(value: bytes, key: Any, timestamp: int, headers: Any) -> Any:
        return dlq if any(k == ENVELOPE for k, _ in headers or []) else valid

    sdf = app.dataframe(raw).set_headers(judge)
    sdf.to_topic(destination)
    return app


if __name__ == "__main__":
    build(sys.argv[1], sys.argv[2], "guard-quix-example").run()
