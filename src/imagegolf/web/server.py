"""Run the app with uvicorn: in a background thread (tests, demos) or in the foreground (`imagegolf serve`).

The listening socket is bound here, before uvicorn starts, so the URL (and a port chosen by the
kernel, ``port=0``) is known at once and "address in use" is a clear error, not a log line.

A client cannot hold a connection by sending slowly (:class:`ClientLimits`): the request head must
arrive within ``head_timeout`` seconds (10) of its first byte, or of the connection's opening; a
request body within ``body_timeout`` (30) of the end of its head. Otherwise the server answers
408 Request Timeout and closes the connection; every other connection is served meanwhile (one
event loop, nothing blocks on a slow client). :class:`BoundedH11Protocol` says how.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from imagegolf.errors import EnvironmentProblem

LOOPBACK = "127.0.0.1"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClientLimits:
    """How long one client may take to send a request, in seconds.

    ``head_timeout``: from the first byte of a request head (or from the connection's opening, for
    its first request) to the blank line that ends the head. ``body_timeout``: from there to the
    end of the body. 1 MiB (guard.MAX_BODY) in 30 s needs 35 KB/s.
    """

    head_timeout: float = 10.0
    body_timeout: float = 30.0


LINGER_S = 2.0  # how long a connection cut off for slowness is drained before it is closed


def _timeout_answer(message: str) -> bytes:
    # RFC 9110 §15.5.9: 408 Request Timeout, "the server SHOULD send the close connection option".
    # Written raw: h11 lets a server send a Response only once the request head is complete.
    body = message.encode() + b"\n"
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"connection: close\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request's head and on its body.

    Relies on uvicorn 0.55.0's ``H11Protocol`` (uvicorn/protocols/http/h11_impl.py, with h11
    0.16; tests/web/test_hardening.py fails if a release changes what is used here): its only
    clock is ``timeout_keep_alive`` (5 s), armed in ``on_response_complete`` and cancelled by the
    first byte of the next request in ``data_received``. Nothing bounds the time from that byte
    to the end of the head, nor the first request of a connection, nor a body; a client sending a
    byte a second holds its connection for as long as it likes (slowloris). Here one more clock,
    ``self._clock``, runs while the client is due to send something and uvicorn's keep-alive
    clock does not:

    - h11 says ``their_state`` is IDLE (waiting for a request head, or part-way through one) and
      ``timeout_keep_alive_task`` is None: the head clock.
    - ``their_state`` is SEND_BODY (the head is in, the body is not): the body clock.
    - otherwise (the request is in; the app is answering): no clock, however long the app takes.

    The state is looked at after everything that can change it: ``connection_made``,
    ``data_received`` (which runs h11's events) and ``on_response_complete`` (which arms the
    keep-alive clock and starts the next cycle). A clock keeps running while the part it bounds
    does, so trickling bytes do not restart it. When it rings: a 408 if no answer has started,
    then the connection is closed (uvicorn then tells a handler reading the body
    ``http.disconnect``: starlette's ClientDisconnect, answered quietly in errors.py).

    A handler that never reads a body stops the body arriving once uvicorn's flow control has
    64 KiB buffered (HIGH_WATER_LIMIT); the handlers here read it first (guard.read_body).
    """

    limits: ClassVar[ClientLimits] = ClientLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock: asyncio.TimerHandle | None = None
        self._clock_for: type[h11.IDLE] | type[h11.SEND_BODY] | None = None
        self._lingering = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # the 408 is sent: what still arrives is dropped until the close
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_clock()
        super().connection_lost(exc)

    def _watch(self) -> None:
        wanted: type[h11.IDLE] | type[h11.SEND_BODY] | None = None
        if self.transport is not None and not self.transport.is_closing():
            state = self.conn.their_state
            if state is h11.IDLE and self.timeout_keep_alive_task is None:
                wanted = h11.IDLE
            elif state is h11.SEND_BODY:
                wanted = h11.SEND_BODY
        if wanted is self._clock_for:
            return  # the same part is still on its way: its clock keeps running
        self._stop_clock()
        if wanted is not None:
            head = wanted is h11.IDLE
            seconds = self.limits.head_timeout if head else self.limits.body_timeout
            self._clock = self.loop.call_later(seconds, self._too_slow, "head" if head else "body", seconds)
            self._clock_for = wanted

    def _stop_clock(self) -> None:
        if self._clock is not None:
            self._clock.cancel()
        self._clock, self._clock_for = None, None

    def _too_slow(self, part: str, seconds: float) -> None:
        self._clock, self._clock_for = None, None
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        _log.info("closing the connection of %s: its request %s took over %g s", client, part, seconds)
        idle = self.cycle is None or self.cycle.response_complete
        if idle or not self.cycle.response_started:
            self.transport.write(_timeout_answer(f"the request {part} took over {seconds:g} s to arrive"))
        if idle and self.transport.can_write_eof():
            # A lingering close (RFC 9112 §9.6): closing a socket that still receives makes the
            # kernel answer the client's next byte with a RST, and a RST can discard the 408 the
            # client has not read yet. So: FIN after the answer, then read and drop what still
            # trickles in, and close after LINGER_S. Only with no request in flight (no app can
            # write after the FIN).
            self.transport.write_eof()
            self._lingering = True
            self.loop.call_later(LINGER_S, self.transport.close)
            return
        self.transport.close()


def protocol_for(limits: ClientLimits) -> type[BoundedH11Protocol]:
    """The protocol class uvicorn instantiates per connection, carrying ``limits``."""

    class Bounded(BoundedH11Protocol):
        pass

    Bounded.limits = limits
    return Bounded


def bind(host: str = LOOPBACK, port: int = 0) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on each accepted connection only when the
    # socket says it is TCP (CPython 3.11 asyncio/base_events.py _set_nodelay checks sock.proto).
    # Without it, an answer written in two parts (head, then body) waits for the client's delayed
    # ACK: 40 ms on Linux for every page (bench/scale.py measured it).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise EnvironmentProblem(
            f"cannot listen on {host}:{port}: {error.strerror or error}",
            hint="choose another --port or --host",
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _config(app: ASGIApp, limits: ClientLimits) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        # A class, not "auto": "auto" would pick httptools when it is installed, without the limits.
        http=protocol_for(limits),
        ws="none",  # no WebSocket routes; an Upgrade request is served as plain HTTP
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=3,
        server_header=False,
        lifespan="off",
    )


@dataclass
class ServerHandle:
    """A server running in a thread. ``stop()`` shuts it down and waits; it is safe to call twice."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread
    sock: socket.socket

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(timeout)
        self.sock.close()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def serve_in_thread(
    app: ASGIApp,
    host: str = LOOPBACK,
    port: int = 0,
    *,
    timeout: float = 10.0,
    limits: ClientLimits = ClientLimits(),
) -> ServerHandle:
    """Start serving ``app`` on ``host:port`` (0: a free port) and return once it accepts requests."""
    sock = bind(host, port)
    server = uvicorn.Server(_config(app, limits))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="imagegolf-web", daemon=True
    )
    thread.start()
    handle = ServerHandle(url_of(sock), server, thread, sock)
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            handle.stop()
            raise EnvironmentProblem(f"the web server did not start on {handle.url}")
        time.sleep(0.01)
    return handle


def serve_forever(
    app: ASGIApp,
    host: str = LOOPBACK,
    port: int = 8000,
    *,
    announce: Callable[[str], None] | None = None,
    limits: ClientLimits = ClientLimits(),
) -> None:
    """Serve in this thread until SIGINT/SIGTERM; ``announce(url)`` once the socket is bound."""
    sock = bind(host, port)
    try:
        if announce is not None:
            announce(url_of(sock))
        uvicorn.Server(_config(app, limits)).run(sockets=[sock])
    finally:
        sock.close()
