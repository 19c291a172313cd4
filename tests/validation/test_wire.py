"""Schema Registry framing: framed JSON and Avro records are unframed, mapped to a contract
version by their schema id and checked; bad frames get reasons of their own."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast

import fastavro
import pytest

from guard.contracts import load_registry
from guard.contracts.avro import to_avro_schema
from guard.errors import RegistryUnavailableError
from guard.validation.reasons import Reason
from guard.validation.schema_ids import RegistryLookup, SchemaIds
from guard.validation.validator import RecordValidator
from guard.validation.wire import PayloadFormat, WireFormat
from tests.validation.wire_samples import Serializers, avro_order, order, schemas_with_ids


@pytest.fixture(scope="module")
def ser() -> Serializers:
    return Serializers()


def _validator(
    schemas: Path, fmt: PayloadFormat, lookup: RegistryLookup | None = None
) -> RecordValidator:
    from guard.contracts.subject_config import load_subject_config

    subject = load_registry(schemas).subject("orders")
    pinned = load_subject_config(schemas, "orders").version_by_id()
    return RecordValidator(
        subject, "all", wire=WireFormat(subject, fmt, SchemaIds(subject, pinned, lookup))
    )


@pytest.fixture
def avro_guard(tmp_path: Path, ser: Serializers) -> RecordValidator:
    return _validator(schemas_with_ids(tmp_path, {2: ser.avro_id}), "confluent-avro")


@pytest.fixture
def json_guard(tmp_path: Path, ser: Serializers) -> RecordValidator:
    return _validator(schemas_with_ids(tmp_path, {2: ser.json_id}), "confluent-json")


def test_a_valid_avro_record_passes_as_the_version_its_id_names(
    avro_guard: RecordValidator, ser: Serializers
) -> None:
    framed = ser.avro(avro_order())
    verdict = avro_guard.validate(framed)
    assert verdict.ok, verdict.errors
    assert verdict.version == 2
    assert verdict.value == framed  # the clean topic gets the bytes as written
    assert verdict.record is not None and verdict.record["created_at"] == "2026-11-13T05:15:00Z"


def test_avro_values_get_the_contracts_checks_with_field_paths(
    avro_guard: RecordValidator, ser: Serializers
) -> None:
    verdict = avro_guard.validate(
        ser.avro(
            avro_order(
                coupon="bad coupon!", amount=-1.0, shipping={"country": "France", "postcode": "1"}
            )
        )
    )
    assert not verdict.ok
    found = {(e.path, e.code) for e in verdict.errors}
    assert ("coupon", Reason.PATTERN_MISMATCH) in found
    assert ("amount", Reason.OUT_OF_RANGE) in found
    assert ("shipping.country", Reason.PATTERN_MISMATCH) in found


def test_an_absent_optional_field_written_as_avro_null_is_absent_not_null(
    avro_guard: RecordValidator, ser: Serializers
) -> None:
    rec = avro_order()
    rec["channel"] = None  # optional, not nullable: Avro can only say null
    verdict = avro_guard.validate(ser.avro(rec))
    assert verdict.ok, verdict.errors
    assert verdict.record is not None and "channel" not in verdict.record


def test_nan_in_an_avro_double_is_not_finite(avro_guard: RecordValidator, ser: Serializers) -> None:
    verdict = avro_guard.validate(ser.avro(avro_order(amount=float("nan"))))
    assert [(e.path, e.code) for e in verdict.errors] == [("amount", Reason.NOT_FINITE)]


def test_an_unknown_schema_id_is_quarantined_with_its_own_reason(
    avro_guard: RecordValidator, ser: Serializers
) -> None:
    framed = ser.avro(avro_order())
    forged = framed[:1] + (999_999).to_bytes(4, "big") + framed[5:]
    verdict = avro_guard.validate(forged)
    assert [e.code for e in verdict.errors] == [Reason.UNKNOWN_SCHEMA_ID]
    assert "999999" in verdict.errors[0].message


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\x00\x00\x01", Reason.TRUNCATED_FRAME),
        (b'{"order_id": 1}', Reason.BAD_FRAME),
        (b"\x01\x00\x00\x00\x01abc", Reason.BAD_FRAME),
        (b"", Reason.EMPTY_VALUE),
        (None, Reason.NULL_VALUE),
    ],
)
def test_bad_frames_get_reasons_of_their_own(
    avro_guard: RecordValidator, value: bytes | None, reason: Reason
) -> None:
    assert [e.code for e in avro_guard.validate(value).errors] == [reason]


def test_a_truncated_avro_payload_is_not_avro(
    avro_guard: RecordValidator, ser: Serializers
) -> None:
    framed = ser.avro(avro_order())
    assert [e.code for e in avro_guard.validate(framed[:-7]).errors] == [Reason.NOT_AVRO]
    assert [e.code for e in avro_guard.validate(framed + b"\x00").errors] == [Reason.NOT_AVRO]


def test_random_bytes_after_a_valid_frame_never_crash(
    avro_guard: RecordValidator, ser: Serializers
) -> None:
    import random

    rng = random.Random(7)
    head = ser.avro(avro_order())[:5]
    for _ in range(2000):
        junk = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 80)))
        verdict = avro_guard.validate(head + junk)
        assert verdict.ok or verdict.errors


def test_a_valid_framed_json_record_passes(json_guard: RecordValidator, ser: Serializers) -> None:
    framed = ser.json(order())
    verdict = json_guard.validate(framed)
    assert verdict.ok, verdict.errors
    assert verdict.value == framed


def test_framed_json_gets_the_same_poison_checks_as_plain_json(
    json_guard: RecordValidator, ser: Serializers
) -> None:
    head = ser.json(order())[:5]
    verdict = json_guard.validate(head + b'{"a": 1, "a": 2}')
    assert [e.code for e in verdict.errors] == [Reason.DUPLICATE_KEY]
    verdict = json_guard.validate(head + b'{"amount": NaN}')
    assert [e.code for e in verdict.errors] == [Reason.NOT_FINITE]


def test_a_plain_json_route_says_when_it_receives_framed_records(ser: Serializers) -> None:
    plain = RecordValidator(load_registry(Path("schemas")).subject("orders"))
    for framed, schema_id in (
        (ser.avro(avro_order()), ser.avro_id),
        (ser.json(order()), ser.json_id),
    ):
        (error,) = plain.validate(framed).errors
        assert error.code in (Reason.NOT_JSON, Reason.NOT_UTF8)
        assert f"looks like Schema Registry framing, schema id {schema_id}" in error.message


def test_a_retired_or_unaccepted_version_named_by_the_id_is_refused(
    tmp_path: Path, ser: Serializers
) -> None:
    schemas = schemas_with_ids(tmp_path, {2: ser.avro_id})
    subject = load_registry(schemas).subject("orders")
    from guard.contracts.subject_config import load_subject_config

    ids = SchemaIds(subject, load_subject_config(schemas, "orders").version_by_id())
    only_v1 = RecordValidator(subject, [1], wire=WireFormat(subject, "confluent-avro", ids))
    verdict = only_v1.validate(ser.avro(avro_order()))
    assert [e.code for e in verdict.errors] == [Reason.RETIRED_VERSION]


class _Registry(BaseHTTPRequestHandler):
    """The two Schema Registry REST calls the guard makes, answered from the mock client."""

    ser: Serializers
    calls: list[str]

    def do_GET(self) -> None:
        self.calls.append(self.path)
        parts = self.path.strip("/").split("/")
        schema_id = int(parts[2])
        known = {self.ser.avro_id: (self.ser.avro_schema, "AVRO")}
        if schema_id not in known:  # Schema Registry's answer for an id it does not have
            missing = json.dumps({"error_code": 40403, "message": "Schema not found"}).encode()
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(missing)
            return
        if parts[-1] == "versions":
            body: object = [{"subject": "orders-value", "version": 2}]
        else:
            body = {"schema": known[schema_id][0], "schemaType": known[schema_id][1]}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def registry_url(ser: Serializers) -> Iterator[tuple[str, list[str]]]:
    calls: list[str] = []
    handler = type("Handler", (_Registry,), {"ser": ser, "calls": calls})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", calls
    server.shutdown()


def test_an_unpinned_id_is_looked_up_in_the_registry_once(
    ser: Serializers, registry_url: tuple[str, list[str]]
) -> None:
    url, calls = registry_url
    guard = _validator(Path("schemas"), "confluent-avro", RegistryLookup(url, "orders-value"))
    for _ in range(3):
        verdict = guard.validate(ser.avro(avro_order()))
        assert verdict.ok and verdict.version == 2, verdict.errors
    assert len(calls) == 2  # versions + schema, then cached


def test_an_id_the_registry_does_not_know_is_quarantined(
    ser: Serializers, registry_url: tuple[str, list[str]]
) -> None:
    url, _ = registry_url
    guard = _validator(Path("schemas"), "confluent-avro", RegistryLookup(url, "orders-value"))
    framed = ser.avro(avro_order())
    verdict = guard.validate(framed[:1] + (4242).to_bytes(4, "big") + framed[5:])
    assert [e.code for e in verdict.errors] == [Reason.UNKNOWN_SCHEMA_ID]


def test_an_unreachable_registry_is_a_transient_failure_not_a_verdict(ser: Serializers) -> None:
    lookup = RegistryLookup("http://127.0.0.1:9", "orders-value", timeout_s=2)
    guard = _validator(Path("schemas"), "confluent-avro", lookup)
    with pytest.raises(RegistryUnavailableError):
        guard.validate(ser.avro(avro_order()))


def test_a_registry_outage_message_names_the_url_without_credentials(ser: Serializers) -> None:
    lookup = RegistryLookup("http://user:s3cret@127.0.0.1:9/", "orders-value", timeout_s=2)
    guard = _validator(Path("schemas"), "confluent-avro", lookup)
    with pytest.raises(RegistryUnavailableError) as info:
        guard.validate(ser.avro(avro_order()))
    message = str(info.value)
    assert message.startswith("schema registry http://127.0.0.1:9/schemas/ids/"), message
    assert "URLError: [Errno" in message  # with the reason, not just the class
    assert "s3cret" not in message and "user" not in message


class _RecursiveRegistry(RegistryLookup):
    """A registry whose version 2 of orders-value is a recursive (linked-list) schema."""

    def get(self, path: str) -> object:
        if path.endswith("/versions"):
            return [{"subject": "orders-value", "version": 2}]
        node = {
            "type": "record",
            "name": "Node",
            "fields": [{"name": "next", "type": ["null", "Node"]}],
        }
        return {"schema": json.dumps(node), "schemaType": "AVRO"}


def test_an_id_whose_registered_schema_is_recursive_is_refused_not_decoded() -> None:
    # Nesting 3,000 deep (6 KB) overflowed Python's recursion after fastavro decoded it;
    # 200,000 deep (400 KB, under max_bytes) crashed the process inside fastavro.
    guard = _validator(
        Path("schemas"), "confluent-avro", _RecursiveRegistry("http://x", "orders-value")
    )
    framed = b"\x00" + (77).to_bytes(4, "big") + b"\x02" * 3000 + b"\x00"
    verdict = guard.validate(framed)
    assert [e.code for e in verdict.errors] == [Reason.UNKNOWN_SCHEMA_ID]


class _DecimalAmountRegistry(RegistryLookup):
    """orders-value version 2 as a producer may register it: `amount` an Avro decimal (money),
    and a field the contract does not declare."""

    def schema(self) -> dict[str, object]:
        v2 = load_registry(Path("schemas")).subject("orders").versions[2]
        schema = to_avro_schema(v2)
        decimal = {"type": "bytes", "logicalType": "decimal", "precision": 400, "scale": 2}
        for f in schema["fields"]:
            if f["name"] == "amount":
                f["type"] = decimal
        schema["fields"].append({"name": "note", "type": "string"})
        return schema

    def get(self, path: str) -> object:
        if path.endswith("/versions"):
            return [{"subject": "orders-value", "version": 2}]
        return {"schema": json.dumps(self.schema()), "schemaType": "AVRO"}


def test_an_avro_decimal_is_judged_as_a_number_under_strip_not_a_crash(tmp_path: Path) -> None:
    schemas = schemas_with_ids(tmp_path, {})
    v2 = schemas / "orders" / "v2.yaml"
    v2.write_text(v2.read_text().replace("unknown_fields: allow", "unknown_fields: strip"))
    lookup = _DecimalAmountRegistry("http://x", "orders-value")
    guard = _validator(schemas, "confluent-avro", lookup)
    writer = fastavro.parse_schema(lookup.schema())

    def framed(amount: Decimal) -> bytes:
        out = io.BytesIO()
        record = {**avro_order(), "amount": amount, "note": "gift"}
        fastavro.schemaless_writer(out, writer, record)
        return b"\x00" + (77).to_bytes(4, "big") + out.getvalue()

    value = framed(Decimal("431.49"))
    verdict = guard.validate(value)  # raised TypeError: Decimal is not JSON serializable
    assert verdict.ok and verdict.unknown_fields == ("note",), verdict.errors
    assert verdict.value == value  # Avro passes as written
    negative = guard.validate(framed(Decimal("-1.00")))
    assert [(e.code, e.path) for e in negative.errors] == [(Reason.OUT_OF_RANGE, "amount")]
    huge = guard.validate(framed(Decimal(10**390)))
    assert [(e.code, e.path) for e in huge.errors] == [(Reason.OUT_OF_RANGE, "amount")]
    assert "overflows to infinity" in huge.errors[0].message


@pytest.mark.parametrize(
    "order_id",
    [
        "c2b9546e0f0240f3adb7f1d5cbf15150",
        "urn:uuid:c2b9546e-0f02-40f3-adb7-f1d5cbf15150",
        "{c2b9546e-0f02-40f3-adb7-f1d5cbf15150}",
        "not-a-uuid",
    ],
)
def test_an_avro_uuid_is_judged_by_the_contracts_uuid_format_as_in_json(
    avro_guard: RecordValidator, ser: Serializers, order_id: str
) -> None:
    # The first three passed (fastavro's UUID() accepts them; the clean copy kept the bytes),
    # the last was not_avro without a path. JSON records get bad_format at order_id for all.
    plain = json.loads(ser.avro_schema)
    for f in plain["fields"]:
        if f["name"] == "order_id":
            f["type"] = "string"  # the same bytes as the uuid logical type writes
    out = io.BytesIO()
    fastavro.schemaless_writer(
        out, fastavro.parse_schema(plain), {**avro_order(), "order_id": order_id}
    )
    verdict = avro_guard.validate(b"\x00" + ser.avro_id.to_bytes(4, "big") + out.getvalue())
    assert [(e.code, e.path) for e in verdict.errors] == [(Reason.BAD_FORMAT, "order_id")]
    as_json = RecordValidator(load_registry(Path("schemas")).subject("orders"), "all")
    json_verdict = as_json.validate(json.dumps(order(order_id=order_id)).encode())
    assert [(e.code, e.path) for e in json_verdict.errors] == [(Reason.BAD_FORMAT, "order_id")]


class _EmptyItemsRegistry(RegistryLookup):
    """orders-value version 2 registered with an extra array whose items take no bytes."""

    items: object = "null"

    def get(self, path: str) -> object:
        if path.endswith("/versions"):
            return [{"subject": "orders-value", "version": 2}]
        schema = to_avro_schema(load_registry(Path("schemas")).subject("orders").versions[2])
        schema["fields"].append({"name": "pad", "type": {"type": "array", "items": self.items}})
        return {"schema": json.dumps(schema), "schemaType": "AVRO"}


@pytest.mark.parametrize(
    "items",
    [
        "null",
        {"type": "record", "name": "Nothing", "fields": [{"name": "n", "type": "null"}]},
        {"type": "fixed", "name": "Zero", "size": 0},
    ],
)
def test_an_id_whose_registered_schema_has_an_array_of_empty_items_is_refused(
    items: object,
) -> None:
    # A 95-byte payload claiming 30 million nulls took 11 s and 560 MB to decode, and it
    # passed; a count near 2**62 (10 bytes) got the process killed for its memory. Here 3
    # million (this test must not do that to a tree without the fix).
    lookup = _EmptyItemsRegistry("http://x", "orders-value")
    object.__setattr__(lookup, "items", items)
    guard = _validator(Path("schemas"), "confluent-avro", lookup)
    writer = json.loads(cast(dict[str, str], lookup.get("/schemas/ids/77"))["schema"])
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(writer), {**avro_order(), "pad": []})
    three_million = b"\x80\x9b\xee\x02"  # zigzag varint
    payload = out.getvalue()[:-1] + three_million + b"\x00"
    verdict = guard.validate(b"\x00" + (77).to_bytes(4, "big") + payload)
    assert [e.code for e in verdict.errors] == [Reason.UNKNOWN_SCHEMA_ID]
