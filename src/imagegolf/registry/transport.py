"""HTTP to one registry: scheme and TLS rules, timeouts, what is worth a retry.

TLS is verified by default (optionally against a CA bundle). Plain HTTP is allowed only for a
loopback host (127.0.0.0/8, ::1, localhost) or with ``insecure=True``; it is then used only when
the registry does not speak TLS. Connection errors, timeouts, 429 (honouring Retry-After) and
5xx are retried with exponential backoff; 4xx never is.

Redirects (followed for GET and HEAD: a registry may send a blob GET to its storage) keep the
Authorization header only while they stay on the same origin — scheme, host and port. ``requests``
strips it on a host change, but keeps it on some scheme and port changes (http→https on default
ports, in every version; any port change in older ones): :class:`_Session` makes the rule explicit.

Every request has a deadline (:data:`DEFAULT_DEADLINE`, 120 s; ``Transport(deadline=…)``) from
its start to the last byte of its answer's body, redirects included. The connect and read
timeouts bound each wait for a byte, not their sum: a registry sending one byte every few seconds
would pass both for hours. At the deadline the request's connections are shut down (one watchdog
thread: :class:`Deadline`) and the request, or whoever is reading its body (registry/body.py),
fails with :class:`RegistryDeadlineExceeded`, which is not retried.
"""

from __future__ import annotations

import contextlib
import email.utils
import heapq
import ipaddress
import itertools
import os
import re
import socket
import threading
import time
import warnings
import weakref
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import requests.adapters
import urllib3
from urllib3.connection import HTTPConnection

from imagegolf.errors import UsageError
from imagegolf.registry.errors import RegistryUnreachable
from imagegolf.registry.retry import RetryPolicy, Transient, run_with_retries

TLS_HINT = "pass the registry's CA with --ca-bundle, or --insecure for a registry you trust"
DEFAULT_DEADLINE = 120.0  # seconds for one request and its answer's body
_RERING_EVERY = 1.0  # a deadline whose connection was still connecting when it rang rings again …
_RERINGS = 30  # … this many times at most (the connect timeout ends a connect well before)


class RegistryDeadlineExceeded(RegistryUnreachable):
    """A request to the registry (its answer's body included) outlasted the transport's deadline."""


class Deadline:
    """The time by which one request, redirects and the answer's body included, must be done.

    The request holds each connection urllib3 lends it (:class:`_DeadlinePool`) until urllib3
    takes it back. At the deadline the watchdog calls :meth:`ring`: every connection still held
    is shut down, ``shutdown(2)`` on its socket, which wakes a thread blocked in ``recv`` or
    ``send`` on it (Linux: ``recv`` returns end-of-file, ``send`` fails with EPIPE). The blocked
    read or write fails at once, and the failure becomes :class:`RegistryDeadlineExceeded`
    (:meth:`Transport._request`, :func:`deadline_error`). A connection given back in time is
    never touched; a shut one urllib3 finds dropped and replaces before its next use.
    """

    def __init__(self, seconds: float, registry: str, what: str) -> None:
        self.seconds = seconds
        self.registry = registry
        self.what = what
        self.at = time.monotonic() + seconds
        self.rang = False
        self._held: set[HTTPConnection] = set()
        self._rings = 0

    def passed(self) -> bool:
        return self.rang or time.monotonic() >= self.at

    def error(self) -> RegistryDeadlineExceeded:
        return RegistryDeadlineExceeded(
            f"registry {self.registry} did not finish {self.what} within {self.seconds:g} s "
            "(the deadline for one request and its answer)",
            hint="the registry, or the network to it, is stalled or trickling; check it and try again",
        )

    def hold(self, conn: HTTPConnection) -> None:
        with _LOCK:
            _HOLDER[conn] = self
            self._held.add(conn)
            late = self.rang
        if late:  # a redirect followed after the deadline rang: shut it too
            _WATCHDOG.add(self, time.monotonic())

    def finish(self) -> None:
        """The request failed before an answer: it holds nothing any more."""
        with _LOCK:
            for conn in self._held:
                if _HOLDER.get(conn) is self:
                    del _HOLDER[conn]
            self._held.clear()

    def ring(self) -> float | None:
        """Shut what is still held; when to ring again (a connection had no socket yet), or None."""
        with _LOCK:
            self.rang = True
            self._rings += 1
            connecting = False
            for conn in list(self._held):
                sock = conn.sock
                if not isinstance(sock, socket.socket):  # None: still connecting
                    connecting = True
                    continue
                self._held.discard(conn)
                # The plain socket's shutdown, also for an SSLSocket: SSLSocket.shutdown would
                # first drop its SSL object under the thread still reading through it.
                with contextlib.suppress(OSError):  # already closed
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
            again = connecting and self._rings <= _RERINGS
        return time.monotonic() + _RERING_EVERY if again else None


_LOCK = threading.Lock()
_HOLDER: weakref.WeakKeyDictionary[HTTPConnection, Deadline] = weakref.WeakKeyDictionary()
_CURRENT = threading.local()  # .deadline: the Deadline of the request this thread is sending


def _hold(conn: Any) -> Any:
    deadline: Deadline | None = getattr(_CURRENT, "deadline", None)
    if deadline is not None and isinstance(conn, HTTPConnection):
        deadline.hold(conn)
    return conn


def _release(conn: Any) -> None:
    if not isinstance(conn, HTTPConnection):
        return  # urllib3 gives back None for a connection it closed after a failure
    with _LOCK:
        deadline = _HOLDER.pop(conn, None)
        if deadline is not None:
            deadline._held.discard(conn)


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


class _DeadlinePool(urllib3.HTTPConnectionPool):
    """A pool whose connections are held by the Deadline of the request they serve.

    urllib3's ``urlopen`` takes a connection with ``_get_conn`` for each request (a redirect is a
    request of its own) and gives it back with ``_put_conn`` once the answer is read or closed
    (urllib3 2.8.0, connectionpool.py; the same in 1.26). These are private methods: the tests in
    tests/registry/test_deadline.py fail if a urllib3 release changes them.
    """

    def _get_conn(self, timeout: float | None = None) -> Any:
        return _hold(super()._get_conn(timeout))

    def _put_conn(self, conn: Any) -> None:
        _release(conn)
        super()._put_conn(conn)


class _DeadlineHTTPSPool(urllib3.HTTPSConnectionPool):
    """:class:`_DeadlinePool` for HTTPS."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        return _hold(super()._get_conn(timeout))

    def _put_conn(self, conn: Any) -> None:
        _release(conn)
        super()._put_conn(conn)


class _DeadlineAdapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _DeadlinePool, "https": _DeadlineHTTPSPool}


_RESPONSES: weakref.WeakKeyDictionary[requests.Response, Deadline] = weakref.WeakKeyDictionary()


def deadline_error(response: requests.Response) -> RegistryDeadlineExceeded | None:
    """The error to raise if ``response``'s deadline passed: instead of a failure reading its body,
    and instead of a body that ended after the deadline (an answer framed by the end of the
    connection, without Content-Length or chunks, ends "normally" when the deadline cuts it)."""
    deadline = _RESPONSES.get(response)
    return deadline.error() if deadline is not None and deadline.passed() else None


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


class _Session(requests.Session):
    """A session whose redirects drop Authorization as soon as they leave the request's origin,
    and whose connections answer to each request's :class:`Deadline`."""

    def __init__(self) -> None:
        super().__init__()
        self.mount("https://", _DeadlineAdapter())
        self.mount("http://", _DeadlineAdapter())

    def should_strip_auth(self, old_url: str, new_url: str) -> bool:
        return origin(old_url) != origin(new_url)


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
    """One registry's HTTP session; ``send`` takes a path (``/v2/…``) or an absolute URL."""

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
                hint="use https, or --insecure for a registry you trust",
            )
        self.schemes = [scheme] if scheme else ["https", *(["http"] if self.http_allowed else [])]
        self.verify: bool | str = False if insecure else (ca_bundle or True)
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.deadline = deadline
        self.session = _Session()
        self.session.trust_env = False  # no ~/.netrc credentials, no proxy for loopback registries
        self._base: str | None = None

    @property
    def base_url(self) -> str:
        """``scheme://host[:port]``, chosen on first use: HTTPS unless the registry speaks only HTTP."""
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
    ) -> requests.Response:
        """One request, its body left unread (``stream``); retried unless ``retry`` is False."""

        def once() -> requests.Response:
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
    ) -> requests.Response:
        """One request; raises :class:`Transient` for what is worth retrying."""
        response = self._request(method, self.url(path_or_url), headers=headers, params=params, data=data)
        if response.status_code == 429 or (500 <= response.status_code < 600 and response.status_code != 501):
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            response.close()
            raise Transient(f"{method} answered {response.status_code} {response.reason}", retry_after)
        return response

    def _request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | list[tuple[str, str]] | None = None,
        data: bytes | None = None,
    ) -> requests.Response:
        deadline = None
        if self.deadline is not None:
            deadline = Deadline(self.deadline, self.hostport, f"{method} {urlsplit(url).path}")
            _WATCHDOG.add(deadline, deadline.at)
        _CURRENT.deadline = deadline
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                response = self.session.request(
                    method,
                    url,
                    headers=dict(headers or {}),
                    params=params,
                    data=data,
                    stream=True,
                    verify=self.verify,
                    timeout=self.timeout,
                    allow_redirects=method in ("GET", "HEAD"),
                )
        except requests.exceptions.RequestException as error:
            if deadline is not None:
                deadline.finish()
                if deadline.passed():
                    raise deadline.error() from None
            if isinstance(error, requests.exceptions.SSLError):
                raise tls_failure(self.hostport, error) from None
            if isinstance(error, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
                raise Transient(f"{method} {urlsplit(url).path}: {short_reason(error)}") from None
            raise RegistryUnreachable(f"registry {self.hostport}: {short_reason(error)}") from None
        finally:
            _CURRENT.deadline = None
        if deadline is not None:
            if deadline.passed():
                # http.client ends a head at end-of-file without complaint, so a head cut by the
                # deadline parses as a complete answer (urllib3 only logs the defect): refuse it.
                response.close()
                raise deadline.error()
            _RESPONSES[response] = deadline
        return response

    def _choose_scheme(self) -> str:
        for position, scheme in enumerate(self.schemes):
            base = f"{scheme}://{self.hostport}"
            try:
                self._request("GET", base + "/v2/").close()
                return base
            except RegistryUnreachable as failure:
                # A server that speaks plain HTTP fails the TLS handshake; a bad certificate does not
                # fall back (that would hide an attack on a TLS registry).
                if position + 1 < len(self.schemes) and "CERTIFICATE" not in str(failure).upper():
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self.session.close()


def tls_failure(hostport: str, error: Exception) -> RegistryUnreachable:
    reason = short_reason(error)
    if "CERTIFICATE" in reason.upper():
        message = f"TLS certificate of registry {hostport} not trusted: {reason}"
        return RegistryUnreachable(message, hint=TLS_HINT)
    return RegistryUnreachable(f"TLS with registry {hostport} failed: {reason}", hint=TLS_HINT)


def short_reason(error: Exception) -> str:
    """The innermost cause of a requests error, one line, no URL query strings."""
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
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
