"""A server that bounded clients cannot tie up, on a real socket (uvicorn, web/server.py):

- a request head, or a body, sent a byte at a time is answered 408 and its connection closed at
  the limit, while other clients are served;
- JSON bodies pass imagegolf/json_input.py: too deep, non-standard or oversized JSON is a 400
  (413) with a message, never a 500;
- a query-string value out of its range, or not a number, is a 400 with a one-line message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from imagegolf.contest import Contest
from imagegolf.db import Database
from imagegolf.web import create_app
from imagegolf.web.guard import Guard
from imagegolf.web.server import BoundedH11Protocol, ClientLimits, ServerHandle, serve_in_thread
from tests.web.conftest import ADMIN_TOKEN

LIMIT = 1.0  # seconds, for head and body in these tests
FAST = ClientLimits(head_timeout=LIMIT, body_timeout=LIMIT)
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def served(db: Database, contest: Contest) -> Iterator[ServerHandle]:
    with serve_in_thread(create_app(db, admin_token=ADMIN_TOKEN), limits=FAST) as server:
        yield server


@pytest.fixture
def quiet_log(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fails the test if the server logs an error (a traceback: 'Exception in ASGI application',
    errors.py's '... failed')."""
    caplog.set_level(logging.INFO)
    uvicorn_log = logging.getLogger("uvicorn")  # uvicorn's logging config stops it propagating to root
    uvicorn_log.addHandler(caplog.handler)
    try:
        yield
    finally:
        uvicorn_log.removeHandler(caplog.handler)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def connect(server: ServerHandle) -> socket.socket:
    sock = socket.create_connection(server.sock.getsockname()[:2], timeout=10)
    return sock


def trickle(sock: socket.socket, data: bytes, every: float) -> threading.Thread:
    """Send ``data`` a byte every ``every`` seconds from a thread, until it ends or the peer closes."""

    def send() -> None:
        try:
            for byte in data:
                sock.sendall(bytes([byte]))
                time.sleep(every)
        except OSError:
            pass

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def answers(sock: socket.socket, count: int) -> list[bytes]:
    """``count`` complete HTTP answers (Content-Length framed) read from a keep-alive connection."""
    buffer, found = b"", []
    while len(found) < count:
        head_end = buffer.find(b"\r\n\r\n")
        if head_end >= 0:
            head = buffer[:head_end].decode()
            length = int(
                next(
                    v
                    for k, v in (h.split(": ", 1) for h in head.split("\r\n")[1:])
                    if k.lower() == "content-length"
                )
            )
            end = head_end + 4 + length
            if len(buffer) >= end:
                found.append(buffer[:end])
                buffer = buffer[end:]
                continue
        chunk = sock.recv(65536)
        assert chunk, f"closed after {len(found)} answers"
        buffer += chunk
    return found


# -- slow clients ------------------------------------------------------------------------------------


def test_a_trickled_request_head_is_cut_off_while_others_are_served(
    served: ServerHandle, quiet_log: None
) -> None:
    slow = connect(served)
    started = time.monotonic()
    # 7 bytes, one every 0.2 s, then silence (see the trickled body below: no byte after the close)
    trickle(slow, b"GET /api/contest HTTP/1.1\r\nHost: golf\r\n"[:7], 0.2)
    with httpx.Client() as others:
        for _ in range(5):  # served at once, on their own connections, while the slow head trickles
            asked = time.monotonic()
            assert others.get(f"{served.url}/api/contest").json()["name"] == "golf"
            assert time.monotonic() - asked < LIMIT  # well before the slow head is cut off
            time.sleep(0.1)
    answer = read_until_closed(slow)  # the server closes the connection after answering
    took = time.monotonic() - started
    assert LIMIT - 0.05 <= took < LIMIT + 1.5, took  # the clock did not restart with each byte
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"connection: close" in answer.lower()
    assert answer.endswith(b"the request head took over 1 s to arrive\n")


def test_a_connection_that_sends_nothing_is_closed(served: ServerHandle) -> None:
    idle = connect(served)
    started = time.monotonic()
    answer = read_until_closed(idle)
    assert LIMIT - 0.05 <= time.monotonic() - started < LIMIT + 1.5
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_trickled_body_is_cut_off_and_the_log_stays_clean(served: ServerHandle, quiet_log: None) -> None:
    body = json.dumps({"all": True}).encode()
    slow = connect(served)
    started = time.monotonic()
    slow.sendall(
        b"POST /api/admin/rejudge HTTP/1.1\r\nHost: golf\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {ADMIN_TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    )
    # 7 of the 13 bytes, one every 0.2 s (1.4 s), then silence: the body is still short when the
    # 1 s clock cuts it, and no byte arrives after the server closes (a byte landing on a closed
    # socket makes the kernel answer RST, which can reach us before we read the 408).
    trickle(slow, body[:7], 0.2)
    answer = read_until_closed(slow)
    assert LIMIT - 0.05 <= time.monotonic() - started < LIMIT + 1.5
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert answer.endswith(b"the request body took over 1 s to arrive\n")
    assert httpx.get(f"{served.url}/api/contest").status_code == 200


def test_slow_answers_idle_keep_alive_and_a_body_in_pieces_are_not_cut() -> None:
    """The clocks bound what the client sends, not what the app takes or the pause between two
    requests on a keep-alive connection (uvicorn's own timeout_keep_alive, 5 s, bounds that)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        if scope["path"] == "/slow":
            await asyncio.sleep(LIMIT * 1.5)
        answer = b"got %d bytes" % len(body)
        headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    with serve_in_thread(app, limits=FAST) as server:
        sock = connect(server)
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        (first,) = answers(sock, 1)
        assert first.startswith(b"HTTP/1.1 200 ")
        time.sleep(LIMIT * 1.5)  # idle between requests, longer than the head limit
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n")
        for piece in (b"abc", b"def", b"ghi"):  # the body in pieces, within its limit
            time.sleep(LIMIT / 5)
            sock.sendall(piece)
        (second,) = answers(sock, 1)
        assert second.startswith(b"HTTP/1.1 200 ") and second.endswith(b"got 9 bytes")
        sock.close()


def test_every_server_has_the_limits(db: Database, contest: Contest) -> None:
    assert ClientLimits() == ClientLimits(head_timeout=10.0, body_timeout=30.0)
    with serve_in_thread(create_app(db)) as server:
        protocol = server.server.config.http_protocol_class
        assert issubclass(protocol, BoundedH11Protocol) and protocol.limits == ClientLimits()


@pytest.mark.slow
def test_a_head_sent_a_byte_a_second_is_cut_off_at_ten_seconds(db: Database, contest: Contest) -> None:
    with serve_in_thread(create_app(db)) as server:  # the default limits
        slow = connect(server)
        started = time.monotonic()
        trickle(slow, b"GET / HTTP/1.1\r\nHost: golf\r\n"[:11], 1.0)  # until the cut, then silence
        assert httpx.get(f"{server.url}/api/contest").status_code == 200
        answer = read_until_closed(slow)
        assert 9.95 <= time.monotonic() - started < 12
        assert answer.startswith(b"HTTP/1.1 408 ")


# -- JSON bodies ---------------------------------------------------------------------------------------

DEEP = [
    b"[" * 100_000,  # json.loads: RecursionError, which was a 500
    b'{"all": ' + b"[" * 65 + b"]" * 65 + b"}",
    b'{"events": [' + b'{"a":' * 200 + b"1" + b"}" * 200 + b"]}",
]
WRITES = ["/api/admin/rejudge", "/api/admin/disqualify", "/hooks/registry"]


@pytest.mark.parametrize("path", WRITES)
@pytest.mark.parametrize("body", DEEP, ids=["100k-arrays", "65-arrays", "200-objects"])
def test_deeply_nested_json_is_a_400_with_a_message(
    served: ServerHandle, quiet_log: None, path: str, body: bytes
) -> None:
    answer = httpx.post(f"{served.url}{path}", content=body, headers=ADMIN)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert "nests arrays and objects more than 64 levels deep" in answer.json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"all": NaN}', "NaN is not JSON"),
        (b'{"all": true, "x": 1e999}', "the number 1e999 is out of range"),
        (b'{"submission": ' + b"9" * 101 + b', "reason": "x"}', "an integer of 101 digits"),
        (b'{"submission": 1, "reason": "\\ud800"}', "half of a UTF-16 surrogate pair"),
        (b'{"reason": "\xff"}', "not UTF-8"),
        (b'"\\' * 400_000, "is not JSON"),  # 800 KB of strings that never close: linear, not 22 s per 64 KB
        (b"{", "is not JSON"),
    ],
)
@pytest.mark.parametrize("path", WRITES)
def test_json_that_is_not_standard_is_a_400(
    served: ServerHandle, quiet_log: None, path: str, body: bytes, message: str
) -> None:
    started = time.monotonic()
    answer = httpx.post(f"{served.url}{path}", content=body, headers=ADMIN)
    assert answer.status_code == 400 and message in answer.json()["error"], answer.text
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/admin/disqualify", {"submission": 10**30, "reason": "x"}),
        ("/api/admin/disqualify", {"submission": "99999999999999999999999", "reason": "x"}),
        ("/api/admin/disqualify", {"submission": -1, "reason": "x"}),
        ("/api/admin/rejudge", {"submissions": ["²"]}),  # str.isdigit() is true of it; int() is not
        ("/api/admin/rejudge", {"submissions": [2**62 + 1]}),
    ],
)
def test_submission_ids_beyond_the_database_are_a_400(
    served: ServerHandle, quiet_log: None, path: str, body: dict[str, Any]
) -> None:
    answer = httpx.post(f"{served.url}{path}", json=body, headers=ADMIN)
    assert answer.status_code == 400, answer.text
    assert "is not a submission id (ids run from 1 to 4611686018427387904)" in answer.json()["error"]


def test_a_body_over_the_cap_is_a_413_declared_or_streamed(served: ServerHandle) -> None:
    big = b'{"all": true, "pad": "' + b"x" * (1024 * 1024) + b'"}'
    declared = httpx.post(f"{served.url}/api/admin/rejudge", content=big, headers=ADMIN)
    assert declared.status_code == 413 and "over 1024 KiB" in declared.json()["error"]
    streamed = httpx.post(
        f"{served.url}/api/admin/rejudge", content=iter([big[:500_000], big[500_000:]]), headers=ADMIN
    )
    assert streamed.status_code == 413, streamed.text


# -- query strings --------------------------------------------------------------------------------------

BAD_QUERIES = [
    ("/?page=99999999999999999999", "query parameter 'page' must be at most 1000000"),
    ("/?page=0", "query parameter 'page' must be at least 1 (got '0')"),
    ("/?page=abc", "query parameter 'page' must be a whole number (got 'abc')"),
    ("/?page=1e3", "query parameter 'page' must be a whole number"),
    ("/?page=", "query parameter 'page' must be a whole number"),
    ("/?page=" + "9" * 5000, "query parameter 'page' is too large a number"),
    ("/fragments/board?page=-1", "query parameter 'page' must be at least 1"),
    ("/entrants/alice?page=1000001", "query parameter 'page' must be at most 1000000"),
    ("/events?before=0", "query parameter 'before' must be at least 1"),
    ("/events?before=" + "9" * 30, "query parameter 'before' must be at most 4611686018427387904"),
    ("/timeline?scale=huge", "query parameter 'scale' must match ^(auto|log|linear)$"),
    ("/api/board?page=99999999999999999999", "query parameter 'page' must be at most 1000000"),
    ("/api/board?per_page=100000", "query parameter 'per_page' must be at most 1000"),
    ("/api/submissions?limit=-1", "query parameter 'limit' must be at least 1 (got '-1')"),
    ("/api/submissions?after=" + "9" * 30, "query parameter 'after' must be at most 4611686018427387904"),
    ("/api/events?after=-5", "query parameter 'after' must be at least 0"),
    ("/api/events?limit=501", "query parameter 'limit' must be at most 500"),
    ("/api/events?limit=abc", "query parameter 'limit' must be a whole number"),
    ("/api/entrants/alice?page=x", "query parameter 'page' must be a whole number"),
]


@pytest.mark.parametrize(("url", "message"), BAD_QUERIES)
def test_out_of_range_numbers_in_query_strings_are_a_400(
    served: ServerHandle, quiet_log: None, url: str, message: str
) -> None:
    answer = httpx.get(f"{served.url}{url}")
    assert answer.status_code == 400, answer.text[:300]
    if url.startswith("/api/"):
        body = answer.json()
        assert body["status"] == 400 and body["error"].startswith("invalid request: ")
        assert message in body["error"]
    else:
        assert answer.headers["content-type"].startswith("text/html")
        assert message.replace("'", "&#39;") in answer.text
    assert "pydantic" not in answer.text and "Input should" not in answer.text


@pytest.mark.parametrize(
    ("declared", "status"),
    [(b"9" * 5000, 413), (b"0" * 5000 + b"12", 200), (b"1048577", 413), (b"1048576", 200), (b"12a", 400)],
)
def test_the_guard_reads_any_content_length_without_failing(declared: bytes, status: int) -> None:
    """h11 refuses a Content-Length of over 20 digits before the app sees it; the guard holds
    behind any server (int() of over 4,300 digits raises ValueError)."""
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/admin/rejudge",
        "headers": [(b"content-length", declared)],
    }
    # In a thread of its own: a Playwright test earlier in the session leaves an event loop
    # running in this one, and asyncio.run refuses to start inside a running loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, Guard(app)(scope, receive, send)).result()
    assert sent[0]["status"] == status
