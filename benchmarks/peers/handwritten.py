"""A hand-written validating consumer, as a competent engineer writes one without the guard:
kafka-python, jsonschema (the contracts exported with `guard schemas export`), a dead-letter
topic with the reason in headers, at-least-once (flush the producer, then commit offsets)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from kafka import KafkaConsumer, KafkaProducer

from benchmarks.peers._common import Progress, parse_args


def load_validators(schemas: Path) -> dict[str, Draft202012Validator]:
    """One compiled validator per version of `orders`, keyed by the version header's value."""
    validators = {}
    for path in sorted((schemas / "orders").glob("v*.schema.json")):
        version = path.name.split(".")[0][1:]
        schema = json.loads(path.read_text())
        validators[version] = Draft202012Validator(
            schema, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
    return validators


def problem(
    value: bytes | None, headers: list[tuple[str, bytes]], validators: dict[str, Any]
) -> str | None:
    """Why the record is invalid, or None."""
    version = dict(headers).get("schema-version", b"").decode(errors="replace").lstrip("vV")
    validator = validators.get(version or max(validators, key=int))
    if validator is None:
        return f"unknown schema version {version!r}"
    try:
        doc = json.loads(value or b"")
    except ValueError as exc:
        return f"not JSON: {exc}"
    error = next(validator.iter_errors(doc), None)
    return None if error is None else f"{error.json_path}: {error.message}"[:500]


def main() -> None:
    args = parse_args(__doc__ or "")
    validators = load_validators(Path(args.schemas))
    consumer = KafkaConsumer(
        args.source,
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=args.batch,
    )
    producer = KafkaProducer(bootstrap_servers=args.bootstrap, acks="all", linger_ms=5)
    progress = Progress(args.records, args.idle)
    while not progress.done():
        got = consumer.poll(timeout_ms=1000, max_records=args.batch)
        if not got:
            continue
        for batch in got.values():
            for r in batch:
                why = problem(r.value, r.headers, validators)
                common = {"key": r.key, "partition": r.partition, "timestamp_ms": r.timestamp}
                if why is None:
                    producer.send(args.valid, value=r.value, headers=r.headers, **common)
                    progress.valid += 1
                    continue
                dlq_headers = [
                    *r.headers,
                    ("dlq-error", why.encode()),
                    ("dlq-source", f"{r.topic}/{r.partition}/{r.offset}".encode()),
                ]
                producer.send(args.dlq, value=r.value, headers=dlq_headers, **common)
                progress.invalid += 1
        producer.flush(timeout=30)
        consumer.commit()
        progress.committed(sum(len(v) for v in got.values()))
    producer.close(timeout=10)
    consumer.close(autocommit=False)
    progress.report()


if __name__ == "__main__":
    main()
