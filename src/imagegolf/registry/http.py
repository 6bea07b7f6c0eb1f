"""A small HTTP/1.1 client on the standard library (``http.client`` + ``ssl``) for the registry.

What the registry adapter needs and no more: keep-alive connections pooled per origin (scheme,
host, port) and shared safely between threads; a connect timeout and a read timeout, each a wait
for one byte; TLS verified against the system CAs (or a CA file), or not at all for ``insecure``;
request bodies given as bytes (http.client sends their Content-Length); answers streamed, their
framing (Content-Length, chunked, end of connection; none for HEAD, 204 and 304) left to
http.client. No proxy and no ~/.netrc: nothing is read from the environment.

A connection goes back to the pool only when its answer was read to the end and the server did
not say ``Connection: close``; an answer closed early closes its connection (the rest of the body
would otherwise arrive as the next answer's head). Redirects, retries and deadlines are the
caller's (registry/transport.py); a :class:`Guard` given to :meth:`HttpClient.request` is told
which connections the request holds, from before the connect until the answer is done.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, overload
from urllib.parse import urlsplit

POOL_SIZE = 10  # idle connections kept per origin (the contest's poll runs 10 threads at most)
USER_AGENT = "imagegolf"
Origin = tuple[str, str, int]  # (scheme, host, port)
_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)")  # RFC 8288 §3: <target>; param; param


class Guard(Protocol):
    """Told which connections a request holds (registry/transport.py's Deadline shuts them)."""

    def hold(self, conn: Connection) -> None: ...

    def release(self, conn: Connection) -> None: ...


class Connection(http.client.HTTPConnection):
    """One connection to an origin; TLS when given a context. ``raw`` is its socket from the
    moment it exists (the TCP one until the TLS handshake starts), for a watchdog to shut down;
    it stays set after http.client lets go of ``sock`` for an answer that ends with the connection."""

    def __init__(
        self, host: str, port: int, *, timeouts: tuple[float, float], tls: ssl.SSLContext | None
    ) -> None:
        super().__init__(host, port, timeout=timeouts[0])
        self.read_timeout = timeouts[1]
        self.tls = tls
        self.raw: socket.socket | None = None
        if tls is not None:
            self.default_port = 443  # the Host header names the port only when it is not 443

    def connect(self) -> None:
        raw = socket.create_connection((self.host, self.port), self.timeout)
        self.raw = raw
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as http.client's own connect
        sock: socket.socket = raw
        if self.tls is not None:  # the handshake runs under the connect timeout
            # wrap_socket moves the descriptor to the SSLSocket (raw is detached before the
            # handshake): from then on that is the socket to shut down.
            sock = self.tls.wrap_socket(raw, server_hostname=self.host)
            self.raw = sock
        sock.settimeout(self.read_timeout)
        self.sock = sock

    def dropped(self) -> bool:
        """True when an idle connection cannot serve another request: the server closed it (end
        of file is readable), sent something unasked, or it was never connected."""
        sock = self.sock
        if sock is None:
            return True
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)


@dataclass(frozen=True)
class Headers:
    """An answer's header fields, looked up without regard to case; repeated fields are joined
    with ", " (RFC 9110 §5.3), as requests did."""

    fields: tuple[tuple[str, str], ...]

    @overload
    def get(self, name: str) -> str | None: ...

    @overload
    def get(self, name: str, default: str) -> str: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        wanted = name.lower()
        values = [value for key, value in self.fields if key.lower() == wanted]
        return ", ".join(values) if values else default

    def __getitem__(self, name: str) -> str:
        found = self.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None


class Response:
    """One answer: status, reason, headers and its body, streamed. :meth:`close` when done (it
    hands a fully read connection back to the pool, and closes any other)."""

    def __init__(
        self,
        method: str,
        url: str,
        answer: http.client.HTTPResponse,
        conn: Connection,
        pool: Pool,
        guard: Guard | None,
    ) -> None:
        self.method = method
        self.url = url
        self.status = answer.status
        self.reason = answer.reason
        self.headers = Headers(tuple(answer.getheaders()))
        self.guard = guard
        self._answer = answer
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
        """The body in pieces of at most ``chunk`` bytes; the errors are http.client's and OSError."""
        while True:
            piece = self._answer.read(chunk)
            if not piece:
                return
            yield piece

    def read(self) -> bytes:
        """The whole body (callers that need a cap use registry/body.py)."""
        return self._answer.read()

    def finished(self) -> bool:
        """The body was read to its end (or there is none: HEAD, 204, 304, Content-Length: 0)."""
        answer = self._answer  # http.client counts ``length`` down to 0 (and sets it 0 for no body)
        return answer.isclosed() or answer.length == 0

    def drain(self, limit: int) -> None:
        """Read the rest of a small body whose length is declared (at most ``limit`` bytes), so that
        :meth:`close` can keep the connection; a larger or unframed one is left to close."""
        answer = self._answer
        small = not answer.chunked and answer.length is not None and answer.length <= limit
        if small and not self.finished():
            with contextlib.suppress(http.client.HTTPException, OSError):  # then it is closed
                answer.read()
        self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        reusable = self.finished() and not self._answer.will_close
        self._answer.close()
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
        ConnectionError …) or http.client.HTTPException; the connection is then closed."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise http.client.InvalidURL(f"not an http(s) URL: {url}")
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
            conn.request(method, target, body=body, headers=sent)
            answer = conn.getresponse()
        except BaseException:
            if guard is not None:
                guard.release(conn)
            conn.close()
            raise
        return Response(method, url, answer, conn, self.pool, guard)

    def close(self) -> None:
        self.pool.close()


def speaks_tls(host: str, port: int, timeouts: tuple[float, float]) -> bool:
    """Does the server at ``host:port`` complete a TLS handshake? Nothing is verified and nothing
    is sent after it: it only tells a TLS server from a plain-HTTP one before the system's CAs are
    loaded (``ssl.create_default_context()`` parses every one of them, ~40 ms). False when the
    handshake fails; OSError when the server cannot be reached."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeouts[0]) as raw:
        raw.settimeout(timeouts[1])
        try:
            with context.wrap_socket(raw, server_hostname=host):
                return True
        except ssl.SSLError:
            return False
