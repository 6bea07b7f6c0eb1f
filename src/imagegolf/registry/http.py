"""A small HTTP/1.1 client for the registry: sockets, TLS and the framing of registry/wire.py.

What the registry adapter needs and no more: keep-alive connections pooled per origin (scheme,
host, port) and shared safely between threads; a connect timeout and a read timeout, each a wait
for one byte; TLS verified against the system CAs (or a CA file), or not at all for ``insecure``;
request bodies given as bytes (sent with their Content-Length); answers streamed, framed by
Content-Length, chunks or the end of the connection (none for HEAD, 204 and 304). No proxy and
no ~/.netrc: nothing is read from the environment. ``ssl`` is imported only when a connection
uses TLS, so a plain-HTTP registry never loads it.

A connection goes back to the pool only when its answer was read to the end and the server did
not say ``Connection: close``; an answer closed early closes its connection (the rest of the body
would otherwise arrive as the next answer's head). Redirects, retries and deadlines are the
caller's (registry/transport.py); a :class:`Guard` given to :meth:`HttpClient.request` is told
which connections the request holds, from before the connect until the answer is done.
"""

from __future__ import annotations

import contextlib
import re
import select
import socket
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from imagegolf.registry.wire import Body, Buffered, Headers, ProtocolError, read_head, request_head

if TYPE_CHECKING:
    import ssl

POOL_SIZE = 10  # idle connections kept per origin (the contest's poll runs 10 threads at most)
USER_AGENT = "imagegolf"
SEND_APART = 64 * 1024  # a body at least this large is sent after its head, not copied onto it
Origin = tuple[str, str, int]  # (scheme, host, port)
_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)")  # RFC 8288 §3: <target>; param; param


class Guard(Protocol):
    """Told which connections a request holds (registry/transport.py's Deadline shuts them)."""

    def hold(self, conn: Connection) -> None: ...

    def release(self, conn: Connection) -> None: ...


class Connection:
    """One connection to an origin; TLS when given a context. ``raw`` is its socket from the
    moment it exists (the TCP one until the TLS handshake starts, then the TLS one), for a
    watchdog to shut down; ``sock`` is set once the connection is ready for requests."""

    def __init__(
        self, host: str, port: int, *, timeouts: tuple[float, float], tls: ssl.SSLContext | None
    ) -> None:
        self.host = host
        self.port = port
        self.timeouts = timeouts
        self.tls = tls
        self.raw: socket.socket | None = None
        self.sock: socket.socket | None = None
        self.reader: Buffered | None = None

    @property
    def host_header(self) -> str:
        """``host[:port]`` as the Host field names it: the port only when not the scheme's default
        (RFC 9110 §7.2), an IPv6 address in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == (80 if self.tls is None else 443) else f"{host}:{self.port}"

    def connect(self) -> None:
        raw = socket.create_connection((address(self.host), self.port), self.timeouts[0])  # type: ignore[arg-type]
        self.raw = raw
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # a request's head is one write
        sock: socket.socket = raw
        if self.tls is not None:  # the handshake runs under the connect timeout
            # wrap_socket moves the descriptor to the SSLSocket (raw is detached before the
            # handshake): from then on that is the socket to shut down.
            sock = self.tls.wrap_socket(raw, server_hostname=self.host)
            self.raw = sock
        sock.settimeout(self.timeouts[1])
        self.reader = Buffered(sock.recv)
        self.sock = sock

    def send(self, head: bytes, body: bytes | None) -> None:
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        if body and len(body) >= SEND_APART:
            self.sock.sendall(head)
            self.sock.sendall(body)
        else:
            self.sock.sendall(head + (body or b""))

    def dropped(self) -> bool:
        """True when an idle connection cannot serve another request: the server closed it (end
        of file is readable), sent something unasked, or it was never connected."""
        sock, reader = self.sock, self.reader
        if sock is None or reader is None or reader.pending():
            return True
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def close(self) -> None:
        sock, self.sock, self.reader = self.sock or self.raw, None, None
        if sock is not None:
            sock.close()


def address(host: str) -> str | bytes:
    """``host`` as getaddrinfo should get it: an ASCII name as bytes. Given a str, CPython's
    getaddrinfo encodes it with the ``idna`` codec, whose import (stringprep, unicodedata) costs
    a push about 1 ms; for an ASCII name that codec returns the same bytes (encodings/idna.py
    only checks label lengths, which the resolver checks too). Other names keep the codec.
    create_connection hands the host to getaddrinfo, which takes bytes (typeshed types it
    ``bytes | str | None``; its own stub for create_connection says str only)."""
    return host.encode("ascii") if host.isascii() else host


class Response:
    """One answer: status, reason, headers and its body, streamed. :meth:`close` when done (it
    hands a fully read connection back to the pool, and closes any other)."""

    def __init__(self, method: str, url: str, conn: Connection, pool: Pool, guard: Guard | None) -> None:
        assert conn.reader is not None
        head = read_head(conn.reader)
        self.method = method
        self.url = url
        self.status = head.status
        self.reason = head.reason
        self.headers: Headers = head.headers
        self.guard = guard
        self._body = Body(conn.reader, method, head)
        self._conn: Connection | None = conn
        self._pool = pool

    def __repr__(self) -> str:
        return f"<Response {self.method} {self.status}>"

    def link(self, rel: str) -> str | None:
        """The URL of the Link header's entry with this ``rel`` (RFC 8288), e.g. the next tag page."""
        for target, params in _LINK.findall(self.headers.get("Link") or ""):
            rels = re.search(r';\s*rel\s*=\s*"?([^";]*)"?', params)
            if rels is not None and rel in rels.group(1).split():
                return str(target)
        return None

    def iter_bytes(self, chunk: int) -> Iterator[bytes]:
        """The body in pieces of at most ``chunk`` bytes; the errors are ProtocolError and OSError."""
        while True:
            piece = self._body.read(chunk)
            if not piece:
                return
            yield piece

    def read(self) -> bytes:
        """The whole body (callers that need a cap use registry/body.py)."""
        return b"".join(self.iter_bytes(256 * 1024))

    def finished(self) -> bool:
        """The body was read to its end (or there is none: HEAD, 204, 304, Content-Length: 0)."""
        return self._body.done

    def drain(self, limit: int) -> None:
        """Read the rest of a small body whose length is declared (at most ``limit`` bytes), so that
        :meth:`close` can keep the connection; a larger or unframed one is left to close."""
        body = self._body
        if body.length is not None and body.length <= limit and not body.done:
            with contextlib.suppress(ProtocolError, OSError):  # then the connection is closed
                self.read()
        self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        reusable = self._body.done and self._body.keep_alive
        if self.guard is not None:
            self.guard.release(conn)
        if reusable:
            self._pool.put(conn)
        else:
            conn.close()


class Pool:
    """Idle keep-alive connections per origin, shared by threads (at most :data:`POOL_SIZE` kept
    per origin; more may be open at once, the extra ones are closed when given back)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[Origin, list[Connection]] = {}

    def take(self, origin: Origin) -> Connection | None:
        """An idle connection to ``origin`` that is still usable, or None."""
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                conn = idle.pop() if idle else None
            if conn is None:
                return None
            if not conn.dropped():
                return conn
            conn.close()

    def put(self, conn: Connection) -> None:
        origin = _origin_of(conn)
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < POOL_SIZE:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle = [conn for conns in self._idle.values() for conn in conns]
            self._idle.clear()
        for conn in idle:
            conn.close()


def _origin_of(conn: Connection) -> Origin:
    return ("https" if conn.tls is not None else "http", conn.host, conn.port)


class TlsSettings(Protocol):
    """Where the TLS context comes from (made lazily: plain-HTTP registries never load the CAs)."""

    def context(self) -> ssl.SSLContext: ...


class HttpClient:
    """Requests to any origin over pooled connections; see the module docstring."""

    def __init__(self, tls: TlsSettings, timeouts: tuple[float, float]) -> None:
        self.tls = tls
        self.timeouts = timeouts
        self.pool = Pool()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: bytes | None = None,
        guard: Guard | None = None,
    ) -> Response:
        """Send one request and read the answer's head. Raises OSError (ssl.SSLError, TimeoutError,
        ConnectionError …), ProtocolError, or ValueError for a URL or header that cannot be sent;
        the connection is then closed."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url}")
        port = parts.port or (443 if scheme == "https" else 80)
        origin: Origin = (scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn = self.pool.take(origin)
        if conn is None:
            tls = self.tls.context() if scheme == "https" else None
            conn = Connection(parts.hostname, port, timeouts=self.timeouts, tls=tls)
        if guard is not None:
            guard.hold(conn)
        sent = {"User-Agent": USER_AGENT, "Accept": "*/*", **headers}
        try:
            conn.send(request_head(method, target, conn.host_header, sent, body), body)
            return Response(method, url, conn, self.pool, guard)
        except BaseException:
            if guard is not None:
                guard.release(conn)
            conn.close()
            raise

    def close(self) -> None:
        self.pool.close()


def speaks_tls(host: str, port: int, timeouts: tuple[float, float]) -> bool:
    """Does the server at ``host:port`` complete a TLS handshake? Nothing is verified and nothing
    is sent after it: it only tells a TLS server from a plain-HTTP one before the system's CAs are
    loaded (``ssl.create_default_context()`` parses every one of them, ~40 ms). False when the
    handshake fails; OSError when the server cannot be reached."""
    import ssl  # start-up: only a connection that tries TLS loads it (~6 ms)

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((address(host), port), timeouts[0]) as raw:  # type: ignore[arg-type]
        raw.settimeout(timeouts[1])
        try:
            with context.wrap_socket(raw, server_hostname=host):
                return True
        except ssl.SSLError:
            return False
