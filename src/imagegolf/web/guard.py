"""Request limits and response headers for every route, as plain ASGI middleware.

- A declared body over ``MAX_BODY`` is refused with 413 before it is read; a streamed body is
  counted by :func:`read_body` (the only way handlers here read one), and a JSON body is parsed by
  :func:`read_json` alone (depth, size and number caps: imagegolf/json_input.py).
- How long a client may take to send a request head or body is bounded by the server, not here
  (web/server.py: an ASGI app sees a request only once its head is complete).
- Every answer carries a strict Content-Security-Policy: scripts and styles only from /static
  (no inline script can run, even if some text escaped its escaping), nothing from elsewhere.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imagegolf.json_input import parse_json
from imagegolf.web.errors import WebError

MAX_BODY = 1024 * 1024
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
TOO_LARGE = f"the request body is over {MAX_BODY // 1024} KiB"


class Guard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        # bytes.isdigit() is ASCII only; the length test comes first so that no 5,000-digit number
        # reaches int() (which refuses over 4,300 digits: sys.set_int_max_str_digits). h11 refuses
        # a Content-Length of over 20 digits itself; this holds behind any server.
        digits = declared.lstrip(b"0") if declared is not None else b""
        if declared is not None and (
            not declared.isdigit() or len(digits) > len(str(MAX_BODY)) or int(digits or b"0") > MAX_BODY
        ):
            status = 413 if declared.isdigit() else 400
            await _plain_json(send, status, TOO_LARGE if status == 413 else "bad Content-Length")
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _plain_json(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message, "status": status}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *HEADERS]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise WebError(413, TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, *, what: str = "the body", hint: str | None = None) -> Any:
    """The body as JSON, through :func:`imagegolf.json_input.parse_json` (size, depth and number
    caps, standard JSON only): a body it refuses is a BadInputError, which errors.py answers 400
    (413 for LimitExceededError), never a RecursionError and a 500."""
    return parse_json(await read_body(request), what=what, max_bytes=MAX_BODY, hint=hint)


async def read_json_object(request: Request) -> dict[str, Any]:
    document = await read_json(request, hint="send a JSON object")
    if not isinstance(document, dict):
        raise WebError(400, "the body must be a JSON object")
    return document
