"""Schema id look-ups in a Schema Registry: what counts as "no such id" (a verdict) and what
is a registry failure (transient: the batch is retried, never quarantined)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from guard.contracts import load_registry
from guard.errors import RegistryUnavailableError
from guard.validation import schema_ids
from guard.validation.schema_ids import RegistryLookup, SchemaIds

Answer = Callable[[BaseHTTPRequestHandler], None]


@pytest.fixture
def serve() -> Iterator[Callable[[Answer], str]]:
    """Start a fake registry whose every GET is answered by the given function; its URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Answer) -> str:
        handler = type(
            "Handler",
            (BaseHTTPRequestHandler,),
            {"do_GET": answer, "log_message": lambda *_a: None},
        )
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, kind: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", kind)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _ids(url: str) -> SchemaIds:
    subject = load_registry(Path("schemas")).subject("orders")
    return SchemaIds(subject, {}, RegistryLookup(url, "orders-value", timeout_s=2))


def test_a_404_without_the_registrys_schema_not_found_code_is_transient(
    serve: Callable[[Answer], str],
) -> None:
    # A proxy or ingress with no route to the registry (or a wrong URL path) answers 404 for
    # every id: that says nothing about the id, so it must not quarantine valid records.
    def proxy_404(h: BaseHTTPRequestHandler) -> None:
        _send(h, 404, b"<html><body>404 Not Found</body></html>", "text/html")

    ids = _ids(serve(proxy_404))
    with pytest.raises(RegistryUnavailableError, match="HTTP 404"):
        ids.resolve(7, avro=True)


def test_a_404_with_the_schema_not_found_code_means_the_id_is_unknown(
    serve: Callable[[Answer], str],
) -> None:
    def not_found(h: BaseHTTPRequestHandler) -> None:
        body = json.dumps({"error_code": 40403, "message": "Schema 7 not found"}).encode()
        _send(h, 404, body, "application/vnd.schemaregistry.v1+json")

    assert _ids(serve(not_found)).resolve(7, avro=True) is None


def test_a_registry_answer_cut_short_is_transient(serve: Callable[[Answer], str]) -> None:
    # A registry restarting mid-answer: fewer bytes than Content-Length, then the connection
    # closes (http.client.IncompleteRead, which is no OSError).
    def cut_short(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", "500")
        h.end_headers()
        h.wfile.write(b'[{"subject"')
        h.close_connection = True

    with pytest.raises(RegistryUnavailableError, match="IncompleteRead"):
        _ids(serve(cut_short)).resolve(7, avro=True)


def test_a_registry_trickling_its_answer_times_out_within_about_the_timeout(
    serve: Callable[[Answer], str],
) -> None:
    # Each byte arrives well within the socket timeout, so only a deadline for the whole
    # answer ends the look-up: before, it took as long as the registry took (~15 s here).
    def trickle(h: BaseHTTPRequestHandler) -> None:
        body = json.dumps([{"subject": "orders-value", "version": 2}]).encode().ljust(60)
        h.send_response(200)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        for byte in body:
            try:
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
            except OSError:
                return  # the guard gave up
            time.sleep(0.25)

    subject = load_registry(Path("schemas")).subject("orders")
    ids = SchemaIds(subject, {}, RegistryLookup(serve(trickle), "orders-value", timeout_s=1))
    started = time.monotonic()
    with pytest.raises(RegistryUnavailableError, match="TimeoutError"):
        ids.resolve(7, avro=True)
    assert time.monotonic() - started < 4


def test_credentials_in_the_registry_url_are_sent_as_basic_auth_not_to_the_resolver(
    serve: Callable[[Answer], str],
) -> None:
    # urllib took `user:s3cret@127.0.0.1` for the host name: a DNS query carrying the secret,
    # then "Name or service not known" for a registry that was up.
    seen: list[tuple[str | None, str | None]] = []

    def record(h: BaseHTTPRequestHandler) -> None:
        seen.append((h.headers.get("Host"), h.headers.get("Authorization")))
        _send(h, 200, b"[]", "application/json")

    url = serve(record).replace("http://", "http://user:s3cret@")
    lookup = RegistryLookup(url, "orders-value", timeout_s=2)
    assert lookup.get("/schemas/ids/7/versions") == []
    host, auth = seen[0]
    assert host is not None and "s3cret" not in host
    assert auth == "Basic " + base64.b64encode(b"user:s3cret").decode()
    assert "s3cret" not in repr(lookup)


def test_the_unknown_id_cache_stays_bounded_under_a_flood_of_random_ids(
    serve: Callable[[Answer], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schema_ids, "MAX_UNKNOWN_IDS", 50)

    def not_found(h: BaseHTTPRequestHandler) -> None:
        body = json.dumps({"error_code": 40403, "message": "Schema not found"}).encode()
        _send(h, 404, body, "application/json")

    ids = _ids(serve(not_found))
    for schema_id in range(1000, 1200):
        assert ids.resolve(schema_id, avro=True) is None
    assert len(ids._unknown) == 50
    assert min(ids._unknown) == 1150  # the newest are kept: a repeat of one costs nothing


def test_a_flood_of_unknown_ids_costs_a_bounded_number_of_registry_requests(
    serve: Callable[[Answer], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before, every new id cost a request: 600 random ids, 600 requests to the registry.
    monkeypatch.setattr(schema_ids, "FLOOD_IDS", 20)
    v2 = load_registry(Path("schemas")).subject("orders").versions[2]
    schema = json.dumps(schema_ids.to_avro_schema(v2))
    calls: list[str] = []

    def registry(h: BaseHTTPRequestHandler) -> None:
        calls.append(h.path)
        known: dict[str, object] = {
            "/subjects/orders-value/versions": [2],
            "/subjects/orders-value/versions/2": {"id": 5, "version": 2, "schema": schema},
            "/schemas/ids/5/versions": [{"subject": "orders-value", "version": 2}],
            "/schemas/ids/5": {"schema": schema},
        }
        if h.path in known:
            _send(h, 200, json.dumps(known[h.path]).encode(), "application/json")
        else:
            body = json.dumps({"error_code": 40403, "message": "Schema not found"}).encode()
            _send(h, 404, body, "application/json")

    ids = _ids(serve(registry))
    started = time.monotonic()
    for schema_id in range(10_000, 10_600):
        assert ids.resolve(schema_id, avro=True) is None
    assert ids.resolve(5, avro=True) is not None  # a registered id still resolves
    seconds = time.monotonic() - started
    per_id = [c for c in calls if c.startswith("/schemas/ids/1")]
    assert len(per_id) == 21  # until the flood was noticed
    listings = calls.count("/subjects/orders-value/versions")
    assert 1 <= listings <= seconds / schema_ids.LISTING_MAX_AGE_S + 1
    assert calls.count("/subjects/orders-value/versions/2") == 1


@pytest.mark.parametrize(
    "body", [b'{"subject": "orders-value", "version": 1}', b'"orders-value"', b"42"]
)
def test_a_registry_answer_of_another_shape_is_transient_not_an_unknown_id(
    serve: Callable[[Answer], str], body: bytes
) -> None:
    # A 200 in JSON that is no list of subject versions (a proxy, another service on the
    # port) says nothing about the id: quarantining as unknown_schema_id would be wrong.
    def odd(h: BaseHTTPRequestHandler) -> None:
        _send(h, 200, body, "application/json")

    with pytest.raises(RegistryUnavailableError, match="not a list of versions"):
        _ids(serve(odd)).resolve(7, avro=True)
