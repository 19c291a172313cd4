"""The same job written as a Quix Streams app, idiomatically: exactly-once, a pydantic model
per contract version (equivalent to schemas/orders), valid records to one topic and invalid
ones to a dead-letter topic with the reason in a header, committing every `--batch` records."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from quixstreams import Application
from quixstreams.models import TopicConfig

from benchmarks.peers._common import Progress, parse_args

HEX = "[0-9a-fA-F]"
Uuid = Annotated[str, Field(pattern=rf"^{HEX}{{8}}-{HEX}{{4}}-{HEX}{{4}}-{HEX}{{4}}-{HEX}{{12}}$")]
Email = Annotated[
    str,
    Field(
        pattern=r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
        r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
    ),
]
Timestamp = Annotated[
    str,
    Field(pattern=r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$"),
]
Amount = Annotated[float, Field(ge=0, le=1_000_000)]
Quantity = Annotated[int, Field(ge=1, le=10_000)]


class OrderV1(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    order_id: Uuid
    customer_email: Email
    amount: Amount
    currency: Literal["EUR", "USD", "GBP"]
    quantity: Quantity
    created_at: Timestamp


class Shipping(BaseModel):
    model_config = ConfigDict(strict=True)
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    postcode: Annotated[str, Field(max_length=16)]


class Item(BaseModel):
    model_config = ConfigDict(strict=True)
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    qty: Annotated[int, Field(ge=1)]


class OrderV2(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")
    order_id: Uuid
    customer_email: Email
    amount: Amount
    currency: Literal["EUR", "USD", "GBP", "CHF"]
    quantity: Quantity
    created_at: Timestamp
    channel: Literal["web", "app", "store"] | None = None
    coupon: Annotated[str, Field(pattern=r"^[A-Z0-9]{4,12}$")] | None = None
    shipping: Shipping | None = None
    items: Annotated[list[Item], Field(max_length=500)] | None = None


MODELS: dict[str, type[BaseModel]] = {"1": OrderV1, "2": OrderV2}
ERROR_HEADER = "dlq-error"


def validation_error(value: bytes, headers: list[tuple[str, bytes]] | None) -> str | None:
    version = dict(headers or ()).get("schema-version", b"2").decode(errors="replace")
    model = MODELS.get(version.lstrip("vV"))
    if model is None:
        return f"unknown schema version {version!r}"
    try:
        model.model_validate_json(value)
    except ValidationError as exc:
        return exc.json(include_url=False, include_input=False)[:500]
    return None


def main() -> None:
    args = parse_args(__doc__ or "")
    progress = Progress(args.records, args.idle)
    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        processing_guarantee="exactly-once",
        commit_every=args.batch,
        state_dir=args.state_dir,
        auto_create_topics=True,
    )
    outputs = TopicConfig(num_partitions=3, replication_factor=1)
    source = app.topic(args.source, key_deserializer="bytes", value_deserializer="bytes")
    valid = app.topic(args.valid, key_serializer="bytes", value_serializer="bytes", config=outputs)
    dead = app.topic(args.dlq, key_serializer="bytes", value_serializer="bytes", config=outputs)

    def with_verdict(value: bytes, _key: Any, _ts: int, headers: Any) -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = list(headers or ())
        why = validation_error(value, out)
        if why is not None:
            out.append((ERROR_HEADER, why.encode()))
        return out

    def route(_value: Any, _key: Any, _ts: int, headers: Any) -> Any:
        # Commits happen every `batch` records, between two records: the record after the
        # first full batch marks the end of the first commit for the harness's timing.
        progress.records += 1
        if progress.records == args.batch + 1:
            progress.n_first, progress.t_first = args.batch, time.time()
        if headers and headers[-1][0] == ERROR_HEADER:
            progress.invalid += 1
            return dead
        progress.valid += 1
        return valid

    sdf = app.dataframe(source)
    sdf = sdf.set_headers(with_verdict)
    sdf.to_topic(route)
    app.run(count=args.records, timeout=args.idle)
    progress.t_last = time.time()  # run() returns after the final checkpoint is committed
    progress.report()


if __name__ == "__main__":
    main()
