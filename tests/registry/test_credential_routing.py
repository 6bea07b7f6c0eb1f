"""Credentials go only where they belong: to a token realm on another origin only over HTTPS (plain
HTTP only between loopback hosts), and never through a redirect to another origin.

A real registry cannot produce these faults (distribution's filesystem storage never redirects, and
its token realm is whatever we configure), so small HTTP servers on loopback play the registry,
its token service and its storage, and record which Authorization header reached them.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from imagegolf.digest import Digest
from imagegolf.registry import RegistryProtocolError, RetryPolicy, open_registry
from imagegolf.registry.auth import may_send_credentials
from imagegolf.registry.transport import keeps_authorization
from tests.registry_services import QuietServer

USER, SECRET = "golfer", "routing-secret-Pa55"
BASIC = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
FAST = RetryPolicy(attempts=1)
ELSEWHERE = "auth.igtest.example"  # not loopback by name; this test resolves it to 127.0.0.1
BLOB = b"a blob the registry keeps in its storage\n"
Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Seen:
    method: str
    path: str
    authorization: str | None


@dataclass
class Server:
    """An HTTP/1.1 server on ``address`` that answers with ``respond`` and records every request."""

    address: str
    respond: Callable[[BaseHTTPRequestHandler], Answer]
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                server.seen.append(Seen(self.command, self.path, self.headers.get("Authorization")))
                status, headers, body = server.respond(self)
                self.send_response(status)
                for key, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = _handle

        self.httpd = QuietServer((self.address, 0), Handler)
        self.port = int(self.httpd.server_address[1])
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"{self.address}:{self.port}"

    def authorizations(self, path_part: str = "") -> list[str | None]:
        return [s.authorization for s in self.seen if path_part in s.path]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers() -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(respond: Callable[[BaseHTTPRequestHandler], Answer], address: str = "127.0.0.1") -> Server:
        server = Server(address, respond)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def token_service(_request: BaseHTTPRequestHandler) -> Answer:
    return 200, {"Content-Type": "application/json"}, json.dumps({"token": "t0ken"}).encode()


def bearer_registry(realm: Callable[[], str]) -> Callable[[BaseHTTPRequestHandler], Answer]:
    def respond(request: BaseHTTPRequestHandler) -> Answer:
        if request.headers.get("Authorization") == "Bearer t0ken":
            return 200, {"Content-Type": "application/json"}, b"{}"
        challenge = f'Bearer realm="{realm()}",service="igtest"'
        return 401, {"WWW-Authenticate": challenge, "Content-Type": "application/json"}, b"{}"

    return respond


def test_the_decision_for_a_token_realm() -> None:
    allowed = [
        ("http://127.0.0.1:5000", "http://127.0.0.1:6000/token"),  # both loopback
        ("http://127.0.0.1:5000", "http://localhost:6000/token"),
        ("http://[::1]:5000", "http://127.0.0.2/token"),
        ("http://registry.lan:5000", "http://registry.lan:5000/token"),  # its own origin (--insecure)
        ("https://registry.example", "HTTPS://Registry.Example:443/token"),
        ("https://registry.example", "https://auth.example/token"),
        ("http://127.0.0.1:5000", "https://auth.example/token"),
    ]
    refused = [
        ("http://127.0.0.1:5000", f"http://{ELSEWHERE}/token"),  # the realm is not loopback
        ("https://registry.example", "http://127.0.0.1/token"),  # the registry is not loopback
        ("https://registry.example", "http://registry.example/token"),  # same host, another scheme
        ("http://registry.lan:5000", "http://registry.lan:5001/token"),  # same host, another port
        ("https://registry.example", "http://auth.example/token"),
    ]
    for registry, realm in allowed:
        assert may_send_credentials(registry, realm), (registry, realm)
    for registry, realm in refused:
        assert not may_send_credentials(registry, realm), (registry, realm)


def test_a_plain_http_realm_on_another_host_gets_no_credentials(
    servers: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve = socket.getaddrinfo

    def mapped(host: Any, *args: Any, **kwargs: Any) -> Any:
        named = host.decode() if isinstance(host, bytes) else host  # registry/http.py sends bytes
        return resolve("127.0.0.1" if named == ELSEWHERE else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", mapped)
    tokens = servers(token_service)
    realm_host = [ELSEWHERE]
    registry = servers(bearer_registry(lambda: f"http://{realm_host[0]}:{tokens.port}/token"))

    with (
        open_registry(registry.host, username=USER, password=SECRET, env={}, retry=FAST) as client,
        pytest.raises(RegistryProtocolError, match="over plain HTTP") as refused,
    ):
        client.ping()
    assert tokens.seen == []  # not even asked
    assert SECRET not in str(refused.value)

    # anonymous: nothing to leak, so the realm is asked (which shows the name does reach it)
    with open_registry(registry.host, env={}, retry=FAST) as client:
        client.ping()
    assert tokens.authorizations() == [None]

    # the same realm under a loopback name: both ends on loopback, the credentials may go
    realm_host[0] = "127.0.0.1"
    with open_registry(registry.host, username=USER, password=SECRET, env={}, retry=FAST) as client:
        client.ping()
    assert tokens.authorizations()[-1] == BASIC


def test_redirects_to_another_origin_never_carry_authorization(servers: Callable[..., Server]) -> None:
    def storage(request: BaseHTTPRequestHandler) -> Answer:
        return 200, {"Content-Type": "application/octet-stream"}, BLOB

    other_port = servers(storage)
    other_host = servers(storage, "127.0.0.2")
    targets: dict[str, str] = {}

    def registry_answer(request: BaseHTTPRequestHandler) -> Answer:
        if request.headers.get("Authorization") != BASIC:
            return 401, {"WWW-Authenticate": 'Basic realm="igtest"'}, b""
        if request.path.startswith("/storage/"):
            return 200, {"Content-Type": "application/octet-stream"}, BLOB
        for name, target in targets.items():
            if request.path.startswith(f"/v2/to/{name}/blobs/"):
                return 307, {"Location": target}, b""
        return 200, {"Content-Type": "application/json"}, b"{}"

    registry = servers(registry_answer)
    targets.update(
        port=f"http://127.0.0.1:{other_port.port}/blob",  # another port
        host=f"http://127.0.0.2:{other_host.port}/blob",  # another host
        name=f"http://localhost:{other_port.port}/blob2",  # another name for the same socket
        self=f"http://{registry.host}/storage/blob",  # the same origin
    )
    digest = Digest.of(BLOB)
    with open_registry(registry.host, username=USER, password=SECRET, env={}, retry=FAST) as client:
        for name in targets:
            assert client.get_blob(f"to/{name}", digest, len(BLOB)) == BLOB
    assert other_port.authorizations("/blob") == [None, None]  # by port and by name
    assert other_host.authorizations("/blob") == [None]
    assert registry.authorizations("/storage/") == [BASIC]  # a same-origin redirect keeps it
    assert all(a == BASIC for a in registry.authorizations("/blobs/")[1:])


def test_a_token_realm_that_redirects_keeps_the_credentials_home(servers: Callable[..., Server]) -> None:
    second = servers(token_service)

    def first_answer(request: BaseHTTPRequestHandler) -> Answer:
        return 307, {"Location": f"http://127.0.0.1:{second.port}/token?moved=1"}, b""

    first = servers(first_answer)
    registry = servers(bearer_registry(lambda: f"http://127.0.0.1:{first.port}/token"))
    with open_registry(registry.host, username=USER, password=SECRET, env={}, retry=FAST) as client:
        client.ping()
    assert first.authorizations() == [BASIC]
    assert second.authorizations() == [None]


def test_the_origin_rule_is_explicit_where_requests_was_lenient() -> None:
    # requests kept the header on an http→https upgrade on default ports (should_strip_auth)
    for old, new in [
        ("http://r.example/v2/", "https://r.example/v2/"),
        ("http://r.example:80/v2/", "https://r.example:443/v2/"),
    ]:
        assert not keeps_authorization(old, new)
    assert keeps_authorization("https://r.example/a", "https://R.EXAMPLE:443/b")
    assert not keeps_authorization("https://r.example/a", "https://r.example:8443/b")
    assert not keeps_authorization("https://r.example/a", "https://s3.example/b")


def test_no_proxy_or_netrc_from_the_environment(
    servers: Callable[..., Server], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    registry = servers(lambda _request: (200, {}, b"{}"))
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".netrc").write_text(f"machine 127.0.0.1 login {USER} password {SECRET}\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    with open_registry(registry.host, env={}, retry=FAST) as client:
        client.ping()
    assert registry.authorizations("/v2/") == [None, None]  # the scheme probe and the ping, direct
