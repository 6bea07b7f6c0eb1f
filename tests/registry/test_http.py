"""The registry's HTTP client (registry/http.py) and the transport's use of it: keep-alive only
after a body read to its end, redirect limit, Link headers, and no CA store for a plain-HTTP
loopback registry. A small server on 127.0.0.1 counts the connections it accepts."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from imagegolf.registry import RegistryUnreachable, RetryPolicy
from imagegolf.registry.transport import MAX_REDIRECTS, Transport
from tests.registry_services import DistributionRegistry, QuietServer

Answer = tuple[int, dict[str, str], bytes]


class Counting:
    """An HTTP/1.1 server answering with ``respond``; counts connections and requests."""

    def __init__(self, respond: Callable[[str], Answer]) -> None:
        self.connections = 0
        self.paths: list[str] = []
        counting = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                counting.connections += 1
                super().setup()

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                counting.paths.append(self.path)
                status, headers, body = respond(self.path)
                self.send_response(status)
                for key, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[str], Answer]], Counting]]:
    started: list[Counting] = []

    def start(respond: Callable[[str], Answer]) -> Counting:
        started.append(Counting(respond))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def test_a_connection_is_reused_only_after_its_body_was_read(
    serve: Callable[[Callable[[str], Answer]], Counting],
) -> None:
    server = serve(lambda path: (200, {}, b"{}" if path == "/v2/" else b"x" * 100_000))
    transport = Transport(server.host, retry=RetryPolicy(attempts=1))
    try:
        assert transport.base_url.startswith("http://")  # GET /v2/ over HTTP answered as a registry
        probed = server.connections
        for _ in range(3):
            response = transport.send("GET", "/v2/blob")
            assert response.read() == b"x" * 100_000
            response.close()
        assert server.connections == probed  # the probe's connection served them all
        transport.send("GET", "/v2/blob").close()  # unread: its connection is closed
        response = transport.send("GET", "/v2/blob")
        assert len(response.read()) == 100_000
        response.close()
        assert server.connections == probed + 1
    finally:
        transport.close()


def test_a_plain_http_loopback_registry_never_loads_the_ca_store(
    serve: Callable[[Callable[[str], Answer]], Counting],
) -> None:
    server = serve(lambda path: (200, {}, b"{}"))
    transport = Transport(server.host, retry=RetryPolicy(attempts=1))
    try:
        assert transport.base_url == f"http://{server.host}"
        assert transport.http.tls._context is None  # type: ignore[attr-defined]
    finally:
        transport.close()


def test_a_loopback_registry_is_asked_over_plain_http_before_any_tls(
    serve: Callable[[Callable[[str], Answer]], Counting],
) -> None:
    """A plain-HTTP loopback registry costs one request: no TLS handshake (no connection of its
    own), and its connection serves what follows."""
    server = serve(lambda path: (401 if path == "/v2/" else 200, {}, b"{}"))
    transport = Transport(server.host, retry=RetryPolicy(attempts=1))
    try:
        assert transport.base_url == f"http://{server.host}"
        transport.send("GET", "/v2/x").drain(1024)
        assert (server.connections, server.paths) == (1, ["/v2/", "/v2/x"])
    finally:
        transport.close()


def test_a_loopback_server_that_is_no_registry_is_still_asked_for_tls(
    serve: Callable[[Callable[[str], Answer]], Counting],
) -> None:
    """404 on /v2/ is not a registry's answer (nor is the 400 a TLS server gives a plain request):
    the TLS handshake is tried, fails, and plain HTTP is used, as before the shortcut."""
    server = serve(lambda path: (404, {}, b"{}"))
    transport = Transport(server.host, retry=RetryPolicy(attempts=1))
    try:
        assert transport.base_url == f"http://{server.host}"
        assert server.paths == ["/v2/", "/v2/"]
        assert server.connections == 2  # the plain one (kept for the second check), the TLS attempt
    finally:
        transport.close()


def test_redirects_are_followed_up_to_the_limit(serve: Callable[[Callable[[str], Answer]], Counting]) -> None:
    def respond(path: str) -> Answer:
        if path == "/v2/":
            return 200, {}, b"{}"
        hop = int(path.rsplit("/", 1)[1])
        return 307, {"Location": f"/v2/hop/{hop + 1}"}, b""  # relative: resolved against the URL

    server = serve(respond)
    transport = Transport(server.host, retry=RetryPolicy(attempts=1))
    try:
        with pytest.raises(RegistryUnreachable, match=f"Exceeded {MAX_REDIRECTS} redirects"):
            transport.send("GET", "/v2/hop/0")
        assert server.paths[-1] == f"/v2/hop/{MAX_REDIRECTS}"
        assert server.connections == 1  # one for all: the version check's, and redirect bodies are read
    finally:
        transport.close()


def test_the_link_header_names_the_next_page(serve: Callable[[Callable[[str], Answer]], Counting]) -> None:
    link = '</v2/r/tags/list?n=2&last=b>; rel="next", </v2/r/tags/list>; rel=first'
    server = serve(lambda path: (200, {"Link": link}, b"{}"))
    transport = Transport(server.host, retry=RetryPolicy(attempts=1))
    try:
        response = transport.send("GET", "/v2/r/tags/list")
        assert response.link("next") == "/v2/r/tags/list?n=2&last=b"
        assert response.link("first") == "/v2/r/tags/list"
        assert response.link("prev") is None
        assert response.headers.get("content-length") == "2"  # names in any case
        response.close()
    finally:
        transport.close()


def test_a_push_to_a_plain_http_registry_loads_no_tls_and_no_http_client(
    registry_open: DistributionRegistry, tmp_path: Path
) -> None:
    """Start-up: a push to the usual loopback registry imports neither ssl (no TLS is tried:
    transport.py asks a loopback registry over plain HTTP first) nor http.client and its email
    parser (registry/wire.py reads HTTP), nor the idna codec (registry/http.py's ``address``)."""
    tar = tmp_path / "image.tar"
    script = (
        "import sys\n"
        "from imagegolf.cli.main import main\n"
        f"assert main(['build', '-o', {str(tar)!r}, 'no tls here']) == 0\n"
        f"assert main(['push', {str(tar)!r}, '{registry_open.host}/plain/push:1']) == 0\n"
        "heavy = ('ssl', '_ssl', 'http.client', 'email.parser', 'email.utils', 'encodings.idna')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
