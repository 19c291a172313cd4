"""report.html and the GX Data Docs open offline, in a real headless Chromium.

Chromium (the OS package; .ci/run installs it) opens each page from disk with every request
sent to a local proxy that answers none of them and records each one, and prints the DOM
after the page's scripts ran. A page passes when no request left for anything but Chromium's
own background services (listed below), and its tables and plots are in the rendered DOM.
Two controls show the harness catches requests: a page with one remote image, and a Data
Docs page as GX writes it (before `offline.make_offline`).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from guard.config.settings import DriftThresholdSettings
from guard.contracts import load_registry
from guard.reports.drift import build_report
from guard.reports.offline import offline_html
from guard.reports.write import write_report
from tests.fixtures.paths import REPO

DATA = REPO / "examples" / "data"
# Chromium's own service traffic (updates, sign-in, clock), not requests of the page.
BROWSER_OWN = {
    "update.googleapis.com",
    "accounts.google.com",
    "clients2.google.com",
    "redirector.gvt1.com",
}


class Proxy:
    """Accepts connections on 127.0.0.1, records each request line, answers nothing."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.requests: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    line = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
                except OSError:
                    continue
                if line:
                    self.requests.append(line)

    def page_requests(self) -> list[str]:
        out = []
        for line in self.requests:
            target = line.split(" ")[1] if " " in line else line
            host = re.sub(r"^[a-z]+://", "", target).split("/")[0].split(":")[0]
            if host not in BROWSER_OWN:
                out.append(line)
        return out

    def close(self) -> None:
        self.sock.close()


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Chromium is needed: apt-get install -y chromium (as .ci/run does)"
    return path


def render(page: Path, profile: Path) -> tuple[str, list[str]]:
    """The DOM after scripts ran, and the page's requests that tried to leave."""
    proxy = Proxy()
    try:
        done = subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--proxy-server=http://127.0.0.1:{proxy.port}",
                "--proxy-bypass-list=<-loopback>",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=3000",
                "--dump-dom",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        proxy.close()
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, proxy.page_requests()


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("offline")
    report = build_report(
        load_registry(REPO / "schemas"),
        REPO / "schemas",
        "orders",
        None,
        [str(DATA / "orders-baseline.jsonl")],
        [str(DATA / "orders-current-drifted.jsonl")],
        out,
        DriftThresholdSettings(),
    )
    write_report(report, out)
    yield out


def test_the_harness_sees_a_page_request_that_leaves(tmp_path: Path) -> None:
    page = tmp_path / "remote.html"
    page.write_text('<html><body><img src="http://example.com/x.png"></body></html>')
    _, requests = render(page, tmp_path / "profile")
    assert any("example.com" in r for r in requests), requests


def test_data_docs_as_gx_writes_them_would_fetch_from_the_network(tmp_path: Path) -> None:
    gx_page = (
        "<html><head>"
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap.min.css">'
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script></head><body>'
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo.png'
        '?dataContextId=1"></body></html>'
    )
    before = tmp_path / "before.html"
    before.write_text(gx_page)
    _, requests = render(before, tmp_path / "p1")
    assert len(requests) >= 2, requests
    after = tmp_path / "after.html"
    after.write_text(offline_html(gx_page, "static/images/logo-long.png"))
    _, requests = render(after, tmp_path / "p2")
    assert requests == []


def test_report_html_renders_its_tables_and_plots_offline(out: Path, tmp_path: Path) -> None:
    dom, requests = render(out / "report.html", tmp_path / "profile")
    assert requests == []
    assert 'id="verdict"' in dom and 'data-verdict="drift"' in dom
    assert len(re.findall(r"<tr data-field=", dom)) >= 12  # a verdict row per field
    assert len(re.findall(r"<svg\b", dom)) >= 12  # a plot per field


def test_data_docs_render_their_tables_offline(out: Path, tmp_path: Path) -> None:
    docs = out / "data_docs"
    pages = [docs / "index.html", *sorted((docs / "validations").rglob("*.html"))]
    pages += sorted((docs / "expectations").rglob("*.html"))
    assert len(pages) == 3
    for i, page in enumerate(pages):
        dom, requests = render(page, tmp_path / f"profile{i}")
        assert requests == [], (page, requests)
        assert "<table" in dom and "<td" in dom, page
    index, _ = render(pages[0], tmp_path / "index")
    # The index's tables are built by the page script from inline data: rows mean it ran.
    assert re.search(r"<tbody><tr><td><a href=\"validations/", index), index[:2000]
