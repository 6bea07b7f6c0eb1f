"""HTTP to one registry: scheme and TLS rules, timeouts, what is worth a retry.

TLS is verified by default (optionally against a CA bundle). Plain HTTP is allowed only for a
loopback host (127.0.0.0/8, ::1, localhost) or with ``insecure=True``; it is then used only when
the registry does not speak TLS (a loopback registry is asked over plain HTTP first, see
:meth:`Transport._answers_as_registry`; any other host over TLS first). Connection errors,
timeouts, 429 (honouring Retry-After) and 5xx are retried with exponential backoff; 4xx never is.

Redirects (followed for GET and HEAD: a registry may send a blob GET to its storage) keep the
Authorization header only while they stay on the same origin — scheme, host and port
(:func:`keeps_authorization`); at most :data:`MAX_REDIRECTS` are followed. HTTP itself is
registry/http.py (standard library only: no proxy or ~/.netrc from the environment).

Every request has a deadline (:data:`DEFAULT_DEADLINE`, 120 s; ``Transport(deadline=…)``) from
its start to the last byte of its answer's body, redirects included. The connect and read
timeouts bound each wait for a byte, not their sum: a registry sending one byte every few seconds
would pass both for hours. At the deadline the request's connections are shut down (one watchdog
thread: :class:`Deadline`) and the request, or whoever is reading its body (registry/body.py),
fails with :class:`RegistryDeadlineExceeded`, which is not retried.

TLS contexts are made on first HTTPS use: ``ssl.create_default_context()`` (the system CAs, the
host name checked), or with ``cafile`` = the CA bundle; ``insecure`` checks neither.
"""

from __future__ import annotations

import contextlib
import heapq
import ipaddress
import itertools
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from imagegolf.errors import Setting, UsageError
from imagegolf.registry.errors import RegistryUnreachable
from imagegolf.registry.http import HttpClient, Response, speaks_tls
from imagegolf.registry.retry import RetryPolicy, Transient, run_with_retries
from imagegolf.registry.wire import ProtocolError

if TYPE_CHECKING:
    import ssl

    from imagegolf.registry.http import Connection

TLS_HINT = "trust the registry's CA, or allow insecure access for a registry you trust"
TLS_SETTINGS = (Setting.CA_BUNDLE, Setting.INSECURE)
DEFAULT_DEADLINE = 120.0  # seconds for one request and its answer's body
MAX_REDIRECTS = 30  # as requests allowed (requests.models.DEFAULT_REDIRECT_LIMIT)
REDIRECTS = frozenset({301, 302, 303, 307, 308})
SMALL_BODY = 64 * 1024  # a redirect's or the scheme probe's body this small is read, keeping its connection
_RERING_EVERY = 1.0  # a deadline whose connection was still connecting when it rang rings again …
_RERINGS = 30  # … this many times at most (the connect timeout ends a connect well before)


class RegistryDeadlineExceeded(RegistryUnreachable):
    """A request to the registry (its answer's body included) outlasted the transport's deadline."""


class Deadline:
    """The time by which one request, redirects and the answer's body included, must be done.

    The request holds each connection it uses (registry/http.py tells :meth:`hold` before the
    connect and :meth:`release` once the answer is read or closed). At the deadline the watchdog
    calls :meth:`ring`: every connection still held is shut down, ``shutdown(2)`` on its socket,
    which wakes a thread blocked in ``recv`` or ``send`` on it (Linux: ``recv`` returns
    end-of-file, ``send`` fails with EPIPE). The blocked read or write fails at once, and the
    failure becomes :class:`RegistryDeadlineExceeded` (:meth:`Transport._request`,
    :func:`deadline_error`). A connection given back in time is never touched; a shut one is
    never pooled (its answer did not end, or ended with the connection).
    """

    def __init__(self, seconds: float, registry: str, what: str) -> None:
        self.seconds = seconds
        self.registry = registry
        self.what = what
        self.at = time.monotonic() + seconds
        self.rang = False
        self._held: set[Connection] = set()
        self._rings = 0

    def passed(self) -> bool:
        return self.rang or time.monotonic() >= self.at

    def error(self) -> RegistryDeadlineExceeded:
        return RegistryDeadlineExceeded(
            f"registry {self.registry} did not finish {self.what} within {self.seconds:g} s "
            "(the deadline for one request and its answer)",
            hint="the registry, or the network to it, is stalled or trickling; check it and try again",
        )

    def hold(self, conn: Connection) -> None:
        with _LOCK:
            self._held.add(conn)
            late = self.rang
        if late:  # a redirect followed after the deadline rang: shut it too
            _WATCHDOG.add(self, time.monotonic())

    def release(self, conn: Connection) -> None:
        with _LOCK:
            self._held.discard(conn)

    def finish(self) -> None:
        """The request is over (failed, or its answer closed): it holds nothing any more."""
        with _LOCK:
            self._held.clear()

    def ring(self) -> float | None:
        """Shut what is still held; when to ring again (a connection had no socket yet), or None."""
        with _LOCK:
            self.rang = True
            self._rings += 1
            connecting = False
            for conn in list(self._held):
                sock = conn.raw
                if sock is None or (sock.fileno() < 0 and conn.sock is None):
                    connecting = True  # still connecting, or in the TLS handshake (http.py)
                    continue
                self._held.discard(conn)
                # The plain socket's shutdown, also for an SSLSocket: SSLSocket.shutdown would
                # first drop its SSL object under the thread still reading through it.
                with contextlib.suppress(OSError):  # already closed
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
            again = connecting and self._rings <= _RERINGS
        return time.monotonic() + _RERING_EVERY if again else None


_LOCK = threading.Lock()


class _Watchdog:
    """One daemon thread that rings each :class:`Deadline` at its time (a heap, soonest first)."""

    def __init__(self) -> None:
        self._reset()
        # A forked child has no watchdog thread; it starts its own on first use.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._ready = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline, at: float) -> None:
        with self._ready:
            heapq.heappush(self._heap, (at, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="imagegolf-registry-deadlines", daemon=True
                )
                self._thread.start()
            self._ready.notify()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._ready.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                _at, _order, deadline = heapq.heappop(self._heap)
            again = deadline.ring()
            if again is not None:
                self.add(deadline, again)


_WATCHDOG = _Watchdog()


def deadline_error(response: Response) -> RegistryDeadlineExceeded | None:
    """The error to raise if ``response``'s deadline passed: instead of a failure reading its body,
    and instead of a body that ended after the deadline (an answer framed by the end of the
    connection, without Content-Length or chunks, ends "normally" when the deadline cuts it)."""
    deadline = response.guard
    return deadline.error() if isinstance(deadline, Deadline) and deadline.passed() else None


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1 (``host`` without a port; IPv6 may be bracketed)."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of an absolute URL, the port made explicit for http and https."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port if port is not None else DEFAULT_PORTS.get(scheme)


def keeps_authorization(old_url: str, new_url: str) -> bool:
    """May a redirect from ``old_url`` to ``new_url`` carry the Authorization header? Only on the
    same origin: scheme, host and port (RFC 6454 §4), with default ports made explicit."""
    return origin(old_url) == origin(new_url)


def with_params(url: str, params: Mapping[str, str] | list[tuple[str, str]] | None) -> str:
    """``url`` with ``params`` form-encoded onto its query (after any query it has), as requests did."""
    if not params:
        return url
    items = list(params.items()) if isinstance(params, Mapping) else list(params)
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(items)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class _Tls:
    """The TLS context of one transport, made on first use (registry/http.py's TlsSettings)."""

    def __init__(self, verify: bool | str) -> None:
        self.verify = verify
        self._context: ssl.SSLContext | None = None
        self._lock = threading.Lock()

    def context(self) -> ssl.SSLContext:
        with self._lock:
            if self._context is None:
                self._context = self._make()
            return self._context

    def _make(self) -> ssl.SSLContext:
        import ssl  # start-up: only a registry that speaks TLS loads it (~6 ms)

        if self.verify is False:  # nothing verified: no CA is loaded either
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        if isinstance(self.verify, str):
            try:
                return ssl.create_default_context(cafile=self.verify)
            except OSError as error:  # ssl.SSLError included; a usage error: no fallback to HTTP
                raise UsageError(
                    f"cannot use the CA bundle {self.verify}: {short_reason(error)}",
                    hint="give a PEM file of CA certificates",
                ) from None
        return ssl.create_default_context()


def split_registry(registry: str) -> tuple[str | None, str]:
    """``(scheme or None, host[:port])`` from ``host[:port]`` or ``http(s)://host[:port][/]``."""
    text = registry.strip()
    scheme: str | None = None
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or parts.path.strip("/") or parts.query:
            raise UsageError(f"invalid registry {registry!r}", hint="use host[:port], e.g. 127.0.0.1:5000")
        scheme, text = parts.scheme, parts.netloc
    if not text or "/" in text or "@" in text:
        raise UsageError(f"invalid registry {registry!r}", hint="use host[:port], e.g. 127.0.0.1:5000")
    return scheme, text


def host_of(hostport: str) -> str:
    if hostport.startswith("["):
        return hostport[1 : hostport.index("]")] if "]" in hostport else hostport
    return hostport.rsplit(":", 1)[0] if hostport.count(":") == 1 else hostport


class Transport:
    """One registry's HTTP client; ``send`` takes a path (``/v2/…``) or an absolute URL."""

    def __init__(
        self,
        registry: str,
        *,
        insecure: bool = False,
        ca_bundle: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = (10.0, 60.0),
        deadline: float | None = DEFAULT_DEADLINE,
    ) -> None:
        """``timeout``: (connect, read) seconds, each wait for a byte; ``deadline``: seconds for
        a whole request and its answer's body (None: no deadline)."""
        scheme, self.hostport = split_registry(registry)
        self.loopback = is_loopback(host_of(self.hostport))
        self.http_allowed = insecure or self.loopback
        if scheme == "http" and not self.http_allowed:
            raise UsageError(
                f"refusing plain HTTP to {self.hostport}: credentials and images would travel unprotected",
                hint="use https, or allow insecure access for a registry you trust",
                settings=(Setting.INSECURE,),
            )
        self.schemes = [scheme] if scheme else ["https", *(["http"] if self.http_allowed else [])]
        self.verify: bool | str = False if insecure else (ca_bundle or True)
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.deadline = deadline
        self.http = HttpClient(_Tls(self.verify), timeout)
        self._base: str | None = None
        self._choosing = threading.Lock()  # a push's blob threads ask at once: one probe serves all

    @property
    def base_url(self) -> str:
        """``scheme://host[:port]``, chosen on first use: HTTPS unless the registry speaks only HTTP."""
        with self._choosing:
            if self._base is None:
                self._base = run_with_retries(
                    self.retry, self._choose_scheme, registry=self.hostport, what="answer"
                )
            return self._base

    def url(self, path_or_url: str) -> str:
        return urljoin(self.base_url + "/", path_or_url)

    def send(
        self,
        method: str,
        path_or_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | list[tuple[str, str]] | None = None,
        data: bytes | None = None,
        retry: bool = True,
        what: str = "answer",
    ) -> Response:
        """One request, its body left unread (streamed); retried unless ``retry`` is False."""

        def once() -> Response:
            return self.send_once(method, path_or_url, headers=headers, params=params, data=data)

        if not retry:
            return once()
        return run_with_retries(self.retry, once, registry=self.hostport, what=what)

    def send_once(
        self,
        method: str,
        path_or_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | list[tuple[str, str]] | None = None,
        data: bytes | None = None,
    ) -> Response:
        """One request; raises :class:`Transient` for what is worth retrying."""
        response = self._request(
            method, with_params(self.url(path_or_url), params), headers=headers, data=data
        )
        if response.status == 429 or (500 <= response.status < 600 and response.status != 501):
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            response.close()
            raise Transient(f"{method} answered {response.status} {response.reason}", retry_after)
        return response

    def _request(
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None, data: bytes | None = None
    ) -> Response:
        """One request, redirects followed for GET and HEAD, under one :class:`Deadline`."""
        deadline = None
        if self.deadline is not None:
            deadline = Deadline(self.deadline, self.hostport, f"{method} {urlsplit(url).path}")
            _WATCHDOG.add(deadline, deadline.at)
        sent = dict(headers or {})
        try:
            response = self.http.request(method, url, headers=sent, body=data, guard=deadline)
            redirects = 0
            while method in ("GET", "HEAD") and response.status in REDIRECTS:
                location = response.headers.get("Location")
                if not location:
                    break
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    response.close()
                    raise RegistryUnreachable(
                        f"registry {self.hostport}: Exceeded {MAX_REDIRECTS} redirects."
                    )
                following = urljoin(url, location)
                if not keeps_authorization(url, following):
                    # once dropped, never sent again on this request's later redirects
                    sent = {k: v for k, v in sent.items() if k.lower() != "authorization"}
                response.drain(SMALL_BODY)
                url = following
                response = self.http.request(method, url, headers=sent, guard=deadline)
        except (OSError, ProtocolError, ValueError) as error:
            if deadline is not None:
                deadline.finish()
                if deadline.passed():
                    raise deadline.error() from None
            if is_tls_error(error):
                raise tls_failure(self.hostport, error) from None
            if isinstance(error, ValueError):  # e.g. a Location's bad port
                raise RegistryUnreachable(f"registry {self.hostport}: {short_reason(error)}") from None
            raise Transient(f"{method} {urlsplit(url).path}: {short_reason(error)}") from None
        except BaseException:
            if deadline is not None:
                deadline.finish()
            raise
        if deadline is not None and deadline.passed():
            # The answer's head arrived, but after the deadline: refuse it as late (a connection
            # shut by the deadline may also have cut its body).
            response.close()
            deadline.finish()
            raise deadline.error()
        return response

    def _choose_scheme(self) -> str:
        schemes = self.schemes
        if self.verify is True and schemes == ["https", "http"]:  # loopback, no scheme given
            plain = f"http://{self.hostport}"
            if self._answers_as_registry(plain):
                return plain
            if not self._speaks_tls():
                schemes = ["http"]  # a plain-HTTP server: the system's CAs are never loaded
        for position, scheme in enumerate(schemes):
            base = f"{scheme}://{self.hostport}"
            try:
                self._request("GET", base + "/v2/").drain(SMALL_BODY)
                return base
            except RegistryUnreachable as failure:
                # A server that speaks plain HTTP fails the TLS handshake; a bad certificate does not
                # fall back (that would hide an attack on a TLS registry).
                if position + 1 < len(schemes) and "CERTIFICATE" not in str(failure).upper():
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _answers_as_registry(self, base: str) -> bool:
        """Does ``base`` answer the API's version check over plain HTTP as a registry does (GET
        /v2/: 200, or 401 asking for credentials; distribution-spec, "Determining support")?

        Asked first, before any TLS, of a loopback registry only: the request carries no
        credentials and never leaves the host, and a server that speaks TLS cannot answer it as a
        registry (Go's TLS server answers a plain request with 400, others close the connection),
        so TLS is still used wherever it is spoken. A plain-HTTP registry, the usual loopback one,
        then costs one request instead of a TLS handshake and the ssl module's import."""
        try:
            response = self._request("GET", base + "/v2/")
        except (Transient, RegistryUnreachable):
            return False
        response.drain(SMALL_BODY)
        return response.status in (200, 401)

    def _speaks_tls(self) -> bool:
        """Whether the registry completes a TLS handshake (registry/http.py's ``speaks_tls``)."""
        parts = urlsplit(f"https://{self.hostport}")
        try:
            return speaks_tls(parts.hostname or "", parts.port or 443, self.timeout)
        except OSError as error:
            raise Transient(f"connect to {self.hostport}: {short_reason(error)}") from None

    def close(self) -> None:
        self.http.close()


def is_tls_error(error: Exception) -> bool:
    """A failed handshake or certificate check (only a connection that tried TLS can raise one)."""
    ssl = sys.modules.get("ssl")  # start-up: not imported just to ask; never loaded means no TLS
    return ssl is not None and isinstance(error, ssl.SSLError | ssl.CertificateError)


def tls_failure(hostport: str, error: Exception) -> RegistryUnreachable:
    reason = short_reason(error)
    if "CERTIFICATE" in reason.upper():
        message = f"TLS certificate of registry {hostport} not trusted: {reason}"
        return RegistryUnreachable(message, hint=TLS_HINT, settings=TLS_SETTINGS)
    return RegistryUnreachable(
        f"TLS with registry {hostport} failed: {reason}", hint=TLS_HINT, settings=TLS_SETTINGS
    )


def short_reason(error: Exception) -> str:
    """The innermost cause of an HTTP or TLS error, one line, no URL query strings."""
    cause: BaseException = error
    while cause.__context__ is not None and cause.__context__ is not cause:
        cause = cause.__context__
    text = str(cause) or type(cause).__name__
    for marker in ("Caused by ", "reason: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    text = re.sub(r"\s*\(_ssl\.c:\d+\)", "", text).strip("()'\" ")
    return text.splitlines()[0][:300] if text else type(error).__name__


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    import email.utils  # start-up: ~6 ms, only for a Retry-After given as a date

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
