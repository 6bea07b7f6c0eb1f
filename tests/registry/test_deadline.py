"""Every request to a registry has a deadline, its answer's body included (registry/transport.py).

A registry that sends one byte at a time, each well within the 60 s read timeout, is cut off at
the deadline; the error names the registry, the request and the deadline, and is not retried.
Debian's docker-registry cannot be made to trickle, so a proxy on 127.0.0.1 stands in front of
the real one: it forwards each request and sends the real answer back, byte by byte where a test
asks (over plain HTTP, or over TLS with a certificate made for the test).
"""

from __future__ import annotations

import http.client
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from imagegolf.digest import Digest
from imagegolf.oci.image import Image
from imagegolf.ref import Reference
from imagegolf.registry import NotFound, RegistryClient, RegistryUnreachable, open_registry
from imagegolf.registry.transport import DEFAULT_DEADLINE, RegistryDeadlineExceeded, Transport
from tests.registry.conftest import FAST_RETRY
from tests.registry_services import LOOPBACK, DistributionRegistry, write_tls_files

HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"})


@dataclass
class Trickle:
    """Send the answer to ``method`` on a path matching ``path`` (a regex) one byte every
    ``every`` seconds: its status line and headers (``part="head"``) or its body."""

    method: str
    path: str
    part: str = "body"
    every: float = 0.05


class TrickleProxy:
    """A threaded HTTP/1.1 proxy on 127.0.0.1 (keep-alive; TLS when given a certificate and key)."""

    def __init__(self, upstream: str, tls: tuple[Path, Path] | None = None) -> None:
        self.upstream = upstream
        self.trickles: list[Trickle] = []
        self.seen: list[tuple[str, str]] = []
        self.connections = 0
        self.lock = threading.Lock()
        context = None
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
        proxy = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[Any, Any]:
                sock, address = super().get_request()
                with proxy.lock:
                    proxy.connections += 1
                if context is not None:
                    sock = context.wrap_socket(sock, server_side=True)
                return sock, address

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a connection the client shut on purpose

        self.server = Server((LOOPBACK, 0), self._handler())
        self.host = f"{LOOPBACK}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def requests_to(self, method: str, pattern: str) -> list[str]:
        return [path for m, path in self.seen if m == method and re.search(pattern, path)]

    def _trickle_for(self, method: str, path: str) -> Trickle | None:
        with self.lock:
            self.seen.append((method, path))
            return next((t for t in self.trickles if t.method == method and re.search(t.path, path)), None)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                upstream = http.client.HTTPConnection(proxy.upstream, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    answer = upstream.getresponse()
                    payload = answer.read()
                    kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP]
                finally:
                    upstream.close()
                if not any(k.lower() == "content-length" for k, _ in kept):
                    kept.append(("Content-Length", str(len(payload))))
                lines = [f"HTTP/1.1 {answer.status} {answer.reason}", *(f"{k}: {v}" for k, v in kept)]
                head = ("\r\n".join(lines) + "\r\n\r\n").encode()
                trickle = proxy._trickle_for(self.command, self.path)
                if trickle is None:
                    self.wfile.write(head + payload)
                elif trickle.part == "head":
                    if self._slowly(head, trickle.every):
                        self.wfile.write(payload)
                else:
                    self.wfile.write(head)
                    self._slowly(payload, trickle.every)

            def _slowly(self, data: bytes, every: float) -> bool:
                try:
                    for byte in data:
                        self.wfile.write(bytes([byte]))
                        time.sleep(every)
                except OSError:  # the client shut the connection: stop
                    self.close_connection = True
                    return False
                return True

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = _handle

        return Handler

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def pushed(
    registry_open: DistributionRegistry, connect: Callable[..., RegistryClient], repo: str, hello_image: Image
) -> Image:
    connect(registry_open).push_image(repo, hello_image, "v1")
    return hello_image


@pytest.fixture
def proxy(registry_open: DistributionRegistry) -> Iterator[TrickleProxy]:
    service = TrickleProxy(registry_open.host)
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def tls_proxy(registry_open: DistributionRegistry, tmp_path: Path) -> Iterator[tuple[TrickleProxy, Path]]:
    ca, certificate, key = write_tls_files(tmp_path)
    service = TrickleProxy(registry_open.host, tls=(certificate, key))
    try:
        yield service, ca
    finally:
        service.stop()


@pytest.fixture
def through() -> Iterator[Callable[..., RegistryClient]]:
    """A client of a proxy (``http://`` or ``https://`` host) with a deadline of ``deadline`` s."""
    clients: list[RegistryClient] = []

    def make(url: str, deadline: float, **kwargs: Any) -> RegistryClient:
        client = open_registry(url, env={}, retry=FAST_RETRY, **kwargs)
        client.transport.deadline = deadline
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def cut_off(call: Callable[[], object], deadline: float) -> RegistryDeadlineExceeded:
    """The deadline error ``call`` raises, at the deadline and not much later."""
    started = time.monotonic()
    with pytest.raises(RegistryDeadlineExceeded) as failed:
        call()
    took = time.monotonic() - started
    assert deadline - 0.05 <= took < deadline + 2.0, took
    return failed.value


def test_a_trickled_layer_is_cut_off_at_the_deadline_and_not_retried(
    pushed: Image, proxy: TrickleProxy, through: Callable[..., RegistryClient], repo: str
) -> None:
    layer = Digest.of(pushed.layers[0])
    every = 0.05
    assert len(pushed.layers[0]) * every > 4  # unhindered, the download would take over 4 s
    proxy.trickles.append(Trickle("GET", f"/blobs/{layer}", "body", every))
    client = through(f"http://{proxy.host}", 1.0)

    error = cut_off(lambda: client.pull_image(Reference.parse(f"{proxy.host}/{repo}:v1")), 1.0)
    assert str(error).startswith(
        f"registry {proxy.host} did not finish GET /v2/{repo}/blobs/{layer} within 1 s"
    )
    assert isinstance(error, RegistryUnreachable) and error.exit_code == 3
    assert len(proxy.requests_to("GET", f"/blobs/{layer}")) == 1  # a deadline is final: no retry

    # The same client, the trickle gone: the shut connection is replaced, the pull completes.
    proxy.trickles.clear()
    pulled = client.pull_image(Reference.parse(f"{proxy.host}/{repo}:v1"))
    assert pulled.layers == pushed.layers


def test_a_trickled_answer_head_is_cut_off_at_the_deadline(
    pushed: Image, proxy: TrickleProxy, through: Callable[..., RegistryClient], repo: str
) -> None:
    proxy.trickles.append(Trickle("GET", "/manifests/v1", "head", 0.05))  # ~250 bytes: 12 s
    client = through(f"http://{proxy.host}", 1.0)
    client.ping()
    error = cut_off(lambda: client.get_manifest(repo, "v1"), 1.0)
    assert f"GET /v2/{repo}/manifests/v1 within 1 s" in str(error)
    assert len(proxy.requests_to("GET", "/manifests/v1")) == 1


def test_a_trickled_error_answer_is_cut_off_not_taken_for_its_status(
    pushed: Image, proxy: TrickleProxy, through: Callable[..., RegistryClient], repo: str
) -> None:
    proxy.trickles.append(Trickle("GET", "/manifests/missing", "body", 0.05))
    client = through(f"http://{proxy.host}", 1.0)
    client.ping()
    cut_off(lambda: client.get_manifest(repo, "missing"), 1.0)  # body.read_error_body
    proxy.trickles.clear()
    with pytest.raises(NotFound):
        client.get_manifest(repo, "missing")


def test_the_deadline_cuts_a_trickle_over_tls(
    pushed: Image,
    tls_proxy: tuple[TrickleProxy, Path],
    through: Callable[..., RegistryClient],
    repo: str,
) -> None:
    proxy, ca = tls_proxy
    layer = Digest.of(pushed.layers[0])
    proxy.trickles.append(Trickle("GET", "/manifests/v1", "head", 0.05))
    proxy.trickles.append(Trickle("GET", f"/blobs/{layer}", "body", 0.05))
    client = through(f"https://{proxy.host}", 1.0, ca_bundle=str(ca))
    client.ping()
    assert client.transport.base_url.startswith("https://")
    cut_off(lambda: client.get_manifest(repo, "v1"), 1.0)
    error = cut_off(lambda: client.get_blob(repo, layer, len(pushed.layers[0])), 1.0)
    assert f"GET /v2/{repo}/blobs/{layer}" in str(error)
    proxy.trickles.clear()
    assert client.get_blob(repo, layer, len(pushed.layers[0])) == pushed.layers[0]


def test_a_finished_request_leaves_its_connection_alone_when_its_deadline_passes(
    pushed: Image, proxy: TrickleProxy, through: Callable[..., RegistryClient], repo: str
) -> None:
    """The first request's deadline passes while a second request, on the same pooled
    connection, is still reading a slow body: the second is not cut, and one TCP connection
    serves everything."""
    layer = pushed.layers[0]
    digest = Digest.of(layer)
    proxy.trickles.append(Trickle("GET", f"/blobs/{digest}", "body", 2.0 / len(layer)))  # 2 s
    client = through(f"http://{proxy.host}", 3.0)
    started = time.monotonic()
    raw, _type = client.get_manifest(repo, "v1")  # its deadline: started + 3 s
    assert raw == pushed.manifest_bytes
    connections = proxy.connections  # (the scheme probe's GET /v2/ closed its own, unread)
    time.sleep(max(0.0, started + 1.5 - time.monotonic()))
    assert client.get_blob(repo, digest, len(layer)) == layer  # 1.5 s → 3.5 s; its deadline: 4.5 s
    assert time.monotonic() - started > 3.0  # the first deadline passed during the download
    assert proxy.connections == connections  # the manifest's connection served the blob, uncut
    assert len(proxy.requests_to("GET", f"/blobs/{digest}")) == 1


def test_every_transport_has_a_deadline_by_default(registry_open: DistributionRegistry) -> None:
    assert DEFAULT_DEADLINE == 120.0
    assert Transport("127.0.0.1:5000").deadline == DEFAULT_DEADLINE
    assert Transport("127.0.0.1:5000", deadline=5.0).deadline == 5.0
    with open_registry(registry_open.host, env={}) as client:
        assert client.transport.deadline == DEFAULT_DEADLINE
        client.ping()  # and a registry that answers at once is not disturbed by it
