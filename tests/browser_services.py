"""A real browser for the tests: Debian's Chromium, headless, driven by Playwright; and a tiny page server.

Playwright's own browser downloads are never used (``playwright install`` is not run): Playwright
launches Debian's Chromium binary. It runs as root in a container, so without the sandbox, and it
is kept off the internet: no background networking, component updates, crash reports or sync, and
every host name except localhost resolves to nothing. A missing Chromium raises (the test fails,
never skips): CI must have it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler

from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.registry_services import LOOPBACK, QuietServer
from tests.services import SETUP

# The binary Debian's /usr/bin/chromium launcher execs. The launcher is not used: it sources
# /etc/chromium.d, which exports Debian's Google API keys and adds --enable-remote-extensions.
CHROMIUM = "/usr/lib/chromium/chromium"

CHROMIUM_ARGS = (
    "--no-sandbox",  # root in a container: Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",  # a container's /dev/shm is small: shared memory goes to /tmp
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-pings",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--safebrowsing-disable-auto-update",
    # No --disable-features here: Chromium keeps only the last one, and Playwright passes its own.
    # Nothing but loopback resolves: a page, or Chromium itself, cannot reach a host by name.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
)


def chromium_binary() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"Debian's chromium ({CHROMIUM}) is not installed: {SETUP}")
    return CHROMIUM


def launch(playwright: Playwright, *args: str) -> Browser:
    """Headless Debian Chromium with :data:`CHROMIUM_ARGS` (plus ``args``)."""
    return playwright.chromium.launch(
        executable_path=chromium_binary(),
        headless=True,
        chromium_sandbox=False,
        args=[*CHROMIUM_ARGS, *args],
        env={k: v for k, v in os.environ.items() if not k.startswith("GOOGLE_")},
        timeout=60_000,
    )


@contextlib.contextmanager
def started(*args: str) -> Iterator[Browser]:
    """A launched browser (and Playwright's driver), both closed on exit.

    Playwright's sync API: use it from plain (not ``async``) test code, in the thread that made it.
    """
    playwright = sync_playwright().start()
    try:
        browser = launch(playwright, *args)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@contextlib.contextmanager
def serve(pages: Mapping[str, str | bytes], content_type: str = "text/html; charset=utf-8") -> Iterator[str]:
    """Serve ``pages`` (path -> body) on 127.0.0.1 from a thread; yields the base URL (no trailing /)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path.split("?", 1)[0])
            if body is None:
                self.send_error(404)
                return
            data = body.encode() if isinstance(body, str) else body
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = QuietServer((LOOPBACK, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
