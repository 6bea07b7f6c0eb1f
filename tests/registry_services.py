"""Real distribution registries for the tests (Debian's docker-registry 2.8), a token issuer, and a
fault-injecting proxy. Everything binds 127.0.0.1 and is stopped (and its files removed) by its owner.

Four set-ups: ``open``; ``basic`` (htpasswd); ``tls`` (a CA and server certificate made here);
``token`` (distribution's ``auth.token``, tokens from :class:`TokenIssuer`).
"""

from __future__ import annotations

import base64
import datetime
import http
import json
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from imagegolf.processes import LOOPBACK, free_port
from tests.services import require, stop_process

USERNAME = "golfer"
PASSWORD = "s3cret-Pa55-word"  # the tests assert this never shows in an error
IDENTITY_TOKEN = "refresh-token-for-golfer"
SERVICE = "igtest-registry"
ISSUER = "igtest-issuer"


class QuietServer(ThreadingHTTPServer):
    """A threaded server that does not print tracebacks for connections a test cut on purpose."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None = None,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        builder = builder.add_extension(usage, critical=True)
    if server:
        import ipaddress

        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def write_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1/localhost: (ca.crt, server.crt, server.key)."""
    ca_key, server_key = _key(), _key()
    ca = _certificate("imagegolf test CA", ca_key, ca=True)
    server = _certificate(LOOPBACK, server_key, ("imagegolf test CA", ca_key), server=True)
    paths = directory / "ca.crt", directory / "server.crt", directory / "server.key"
    paths[0].write_bytes(_pem(ca))
    paths[1].write_bytes(_pem(server))
    paths[2].write_bytes(_key_pem(server_key))
    return paths


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class TokenIssuer:
    """A token service for distribution's ``auth.token``: ES256 JWTs whose ``x5c`` header carries a
    self-signed certificate that the registry's ``rootcertbundle`` trusts (registry/auth/token in
    distribution 2.8 verifies the chain, then the signature with the leaf's key)."""

    def __init__(self, directory: Path) -> None:
        self.key = _key()
        self.cert = _certificate("imagegolf token issuer", self.key, ca=True)
        self.cert_path = directory / "token-ca.pem"
        self.cert_path.write_bytes(_pem(self.cert))
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.grant_nothing_next = 0  # the next N tokens carry no access (the registry rejects them)
        self.server = QuietServer((LOOPBACK, 0), self._handler())
        self.port = int(self.server.server_address[1])
        self.realm = f"http://{LOOPBACK}:{self.port}/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def token(self, subject: str, access: list[dict[str, Any]]) -> str:
        der = self.cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der).decode("ascii")]}
        now = int(time.time())
        claims = {
            "iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + 300, "nbf": now - 10,
            "iat": now, "jti": uuid.uuid4().hex, "access": access,
        }  # fmt: skip
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        r, s = decode_dss_signature(self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def issue(self, subject: str | None, scopes: list[str]) -> dict[str, Any]:
        access = []
        with self.lock:
            starve = self.grant_nothing_next > 0
            self.grant_nothing_next -= 1 if starve else 0
        if subject is not None and not starve:
            for scope in scopes:
                kind, _, rest = scope.partition(":")
                name, _, actions = rest.rpartition(":")
                access.append({"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]})
        token = self.token(subject or "", access)
        return {"token": token, "access_token": token, "expires_in": 300}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
                subject = None
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                    if (user, password) != (USERNAME, PASSWORD):
                        self._record("GET", None, scopes, denied=True)
                        self._answer(401, {"details": "incorrect username or password"})
                        return
                    subject = user
                self._record("GET", subject, scopes)
                self._answer(200, issuer.issue(subject, scopes))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                scopes = [s for value in form.get("scope", []) for s in value.split(" ") if s]
                ok = form.get("grant_type") == ["refresh_token"] and form.get("refresh_token") == [
                    IDENTITY_TOKEN
                ]
                self._record("POST", USERNAME if ok else None, scopes, denied=not ok)
                if not ok:
                    self._answer(401, {"details": "invalid refresh token"})
                    return
                answer = issuer.issue(USERNAME, scopes)
                self._answer(200, {"access_token": answer["token"], "expires_in": 300})

            def _record(
                self, method: str, subject: str | None, scopes: list[str], denied: bool = False
            ) -> None:
                with issuer.lock:
                    issuer.requests.append(
                        {"method": method, "subject": subject, "scopes": scopes, "denied": denied}
                    )

        return Handler

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class DistributionRegistry:
    """``docker-registry serve CONFIG`` on 127.0.0.1:<free port>, storage in a temp dir."""

    def __init__(self, kind: str = "open") -> None:
        self.binary = require("docker-registry")
        self.kind = kind
        self.dir = Path(tempfile.mkdtemp(prefix=f"igreg-{kind}-"))
        self.port = free_port()
        self.host = f"{LOOPBACK}:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.issuer: TokenIssuer | None = None
        self.ca_bundle: str | None = None
        self.cert_dir: str | None = None  # for skopeo/podman --cert-dir: holds ca.crt
        self.credentials: tuple[str, str] | None = None
        self._configure()

    def _configure(self) -> None:
        auth = tls = ""
        if self.kind == "basic":
            self.credentials = (USERNAME, PASSWORD)
            line = subprocess.run(
                [require("htpasswd"), "-Bbn", USERNAME, PASSWORD], capture_output=True, check=True
            ).stdout
            (self.dir / "htpasswd").write_bytes(line)
            auth = f"auth:\n  htpasswd:\n    realm: igtest\n    path: {self.dir / 'htpasswd'}\n"
        elif self.kind == "tls":
            certs, trust = self.dir / "certs", self.dir / "trust"
            certs.mkdir()
            trust.mkdir()  # skopeo/podman read *.crt there as CAs (and *.key/*.cert as a client pair)
            ca, cert, key = write_tls_files(certs)
            shutil.copy(ca, trust / "ca.crt")
            self.ca_bundle, self.cert_dir = str(ca), str(trust)
            tls = f"  tls:\n    certificate: {cert}\n    key: {key}\n"
        elif self.kind == "token":
            self.credentials = (USERNAME, PASSWORD)
            self.issuer = TokenIssuer(self.dir)
            auth = (
                f"auth:\n  token:\n    realm: {self.issuer.realm}\n    service: {SERVICE}\n"
                f"    issuer: {ISSUER}\n    rootcertbundle: {self.issuer.cert_path}\n"
            )
        elif self.kind != "open":
            raise ValueError(self.kind)
        (self.dir / "config.yml").write_text(
            "version: 0.1\n"
            "log:\n  level: info\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.dir / 'data'}\n  delete:\n    enabled: true\n"
            "  maintenance:\n    uploadpurging:\n      enabled: false\n"
            f"http:\n  addr: {self.host}\n  secret: imagegolf-test-secret\n{tls}{auth}"
        )

    def start(self) -> DistributionRegistry:
        log = (self.dir / "registry.log").open("ab")
        self.proc = subprocess.Popen(
            [self.binary, "serve", str(self.dir / "config.yml")],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                socket.create_connection((LOOPBACK, self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        tail = (self.dir / "registry.log").read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"docker-registry ({self.kind}) did not listen on {self.host}: {tail}")

    def halt(self) -> None:
        """Stop the process, keep its storage (a later start() serves the same content)."""
        proc, self.proc = self.proc, None
        stop_process(proc, timeout=10)

    def stop(self) -> None:
        self.halt()
        if self.issuer is not None:
            self.issuer.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def open_kwargs(self) -> dict[str, Any]:
        """What open_registry needs for this set-up (credentials, CA bundle)."""
        kwargs: dict[str, Any] = {"env": {}}
        if self.credentials:
            kwargs["username"], kwargs["password"] = self.credentials
        if self.ca_bundle:
            kwargs["ca_bundle"] = self.ca_bundle
        return kwargs

    def tool_flags(self, *, prefix: str = "") -> list[str]:
        """skopeo/podman flags to reach it: TLS (cert dir or verify off) and credentials."""
        flags = [f"--{prefix}cert-dir={self.cert_dir}"] if self.cert_dir else [f"--{prefix}tls-verify=false"]
        if self.credentials:
            flags.append(f"--{prefix}creds={self.credentials[0]}:{self.credentials[1]}")
        return flags


# -- a fault-injecting proxy ------------------------------------------------------------------------


@dataclass
class Fault:
    """What the proxy does to requests matching ``method`` and the ``path`` regex, ``times`` times.

    action: ``status`` (answer ``status`` with ``headers``, never forward), ``drop`` (close the
    connection unanswered), ``corrupt`` (forward, flip the last byte of the answer), ``extend``
    (forward, append bytes), ``stream`` (answer 200 with an endless chunked body), ``paginate``
    (serve the real tag list in pages), ``trickle-head`` / ``trickle-body`` (forward, then send
    the real answer's status line and headers, or its body, one byte every ``every`` seconds).
    """

    method: str
    path: str
    action: str
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1_000_000
    every: float = 0.05


@dataclass
class Seen:
    method: str
    path: str
    status: int | None
    at: float


class FaultProxy:
    """A threaded HTTP/1.1 reverse proxy on 127.0.0.1 in front of a plain-HTTP registry; it speaks
    TLS to its clients when given a certificate and key, and counts the connections they open."""

    HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"})

    def __init__(self, upstream: str, tls: tuple[Path, Path] | None = None) -> None:
        self.upstream = upstream
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self.streamed_bytes = 0
        self.connections = 0
        self.lock = threading.Lock()
        context = None
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
        proxy = self

        class Server(QuietServer):
            def get_request(self) -> tuple[Any, Any]:
                sock, address = super().get_request()
                with proxy.lock:
                    proxy.connections += 1
                if context is not None:
                    sock = context.wrap_socket(sock, server_side=True)
                return sock, address

        self.server = Server((LOOPBACK, 0), self._handler())
        self.host = f"{LOOPBACK}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def requests_to(self, method: str, pattern: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and re.search(pattern, s.path)]

    def _take(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.method == method and re.search(fault.path, path):
                    fault.times -= 1
                    return fault
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy._take(self.command, self.path)
                action = fault.action if fault else "forward"
                if fault is not None and action == "drop":
                    proxy._log(self.command, self.path, None)
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault is not None and action == "status":
                    self._reply(fault.status, fault.headers, b'{"errors":[{"code":"INJECTED"}]}')
                    return
                if fault is not None and action == "stream":
                    self._stream(fault.headers)
                    return
                if fault is not None and action == "paginate":
                    self._paginate()
                    return
                status, headers, answer = self._forward(body)
                if fault is not None and action.startswith("trickle-"):
                    self._trickle(status, headers, answer, fault)
                    return
                if action == "corrupt" and answer:
                    answer = answer[:-1] + bytes([answer[-1] ^ 0xFF])
                elif action == "extend":
                    answer += b"extra bytes"
                    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                    headers.append(("Content-Length", str(len(answer))))
                self._reply(status, dict(headers), answer)

            def _forward(
                self, body: bytes, path: str | None = None
            ) -> tuple[int, list[tuple[str, str]], bytes]:
                import http.client

                connection = http.client.HTTPConnection(proxy.upstream, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in proxy.HOP}
                    connection.request(self.command, path or self.path, body=body or None, headers=headers)
                    response = connection.getresponse()
                    answer = response.read()
                    kept = [(k, v) for k, v in response.getheaders() if k.lower() not in proxy.HOP]
                    return response.status, kept, answer
                finally:
                    connection.close()

            def _paginate(self) -> None:
                """distribution 2.8 ignores ``n`` on tag lists; page the real list as the spec says
                (lexical order, ``n`` entries after ``last``, ``Link: <…>; rel="next"``)."""
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                status, _headers, answer = self._forward(b"", url.path)
                body = json.loads(answer)
                tags = sorted(t for t in body["tags"] if t > query.get("last", ""))
                size = int(query.get("n", len(tags) or 1))
                page = tags[:size]
                headers = {"Content-Type": "application/json"}
                if len(tags) > size:
                    headers["Link"] = f'<{url.path}?n={size}&last={page[-1]}>; rel="next"'
                self._reply(status, headers, json.dumps({"name": body["name"], "tags": page}).encode())

            def _trickle(
                self, status: int, headers: list[tuple[str, str]], body: bytes, fault: Fault
            ) -> None:
                proxy._log(self.command, self.path, status)
                if not any(k.lower() == "content-length" for k, _ in headers):
                    headers = [*headers, ("Content-Length", str(len(body)))]
                reason = http.HTTPStatus(status).phrase
                lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers)]
                head = ("\r\n".join(lines) + "\r\n\r\n").encode()
                if fault.action == "trickle-head":
                    if self._slowly(head, fault.every):
                        self.wfile.write(body)
                else:
                    self.wfile.write(head)
                    self._slowly(body, fault.every)

            def _slowly(self, data: bytes, every: float) -> bool:
                try:
                    for byte in data:
                        self.wfile.write(bytes([byte]))
                        time.sleep(every)
                except OSError:  # the client shut the connection: stop
                    self.close_connection = True
                    return False
                return True

            def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
                proxy._log(self.command, self.path, status)
                self.send_response(status)
                has_length = any(k.lower() == "content-length" for k in headers)
                for key, value in headers.items():
                    self.send_header(key, value)
                if not has_length:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _stream(self, headers: dict[str, str]) -> None:
                proxy._log(self.command, self.path, 200)
                self.send_response(200)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b" " * 65536
                framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
                self.close_connection = True
                try:
                    for _ in range(16384):  # 1 GiB at most
                        self.wfile.write(framed)
                        with proxy.lock:
                            proxy.streamed_bytes += len(chunk)
                except OSError:
                    return

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle

        return Handler

    def _log(self, method: str, path: str, status: int | None) -> None:
        with self.lock:
            self.seen.append(Seen(method, path, status, time.monotonic()))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_tool(*args: str, timeout: float = 180, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run skopeo (or another tool) and fail with its stderr when it fails."""
    done = subprocess.run(list(args), capture_output=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed: {done.stderr.decode(errors='replace')[-2000:]}")
    return done


def started(kind: str) -> Iterator[DistributionRegistry]:
    """A generator for session fixtures: start, yield, always stop."""
    registry = DistributionRegistry(kind)
    try:
        yield registry.start()
    finally:
        registry.stop()
