"""Run the app with uvicorn: in a background thread (tests, demos) or in the foreground (`imagegolf serve`).

The listening socket is bound here, before uvicorn starts, so the URL (and a port chosen by the
kernel, ``port=0``) is known at once and "address in use" is a clear error, not a log line.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from imagegolf.errors import EnvironmentProblem

LOOPBACK = "127.0.0.1"


def bind(host: str = LOOPBACK, port: int = 0) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
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


def _config(app: ASGIApp) -> uvicorn.Config:
    return uvicorn.Config(
        app,
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
    app: ASGIApp, host: str = LOOPBACK, port: int = 0, *, timeout: float = 10.0
) -> ServerHandle:
    """Start serving ``app`` on ``host:port`` (0: a free port) and return once it accepts requests."""
    sock = bind(host, port)
    server = uvicorn.Server(_config(app))
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
    app: ASGIApp, host: str = LOOPBACK, port: int = 8000, *, announce: Callable[[str], None] | None = None
) -> None:
    """Serve in this thread until SIGINT/SIGTERM; ``announce(url)`` once the socket is bound."""
    sock = bind(host, port)
    try:
        if announce is not None:
            announce(url_of(sock))
        uvicorn.Server(_config(app)).run(sockets=[sock])
    finally:
        sock.close()
