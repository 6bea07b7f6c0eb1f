"""Every failure as a clear answer: JSON under /api/ and /hooks/, else an HTML page; never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import HTMLResponse, JSONResponse, Response

from imagegolf.contest import ContestNotFound, SubmissionNotFound
from imagegolf.contest.errors import NoContest
from imagegolf.errors import EnvironmentProblem, ImagegolfError, LimitExceededError
from imagegolf.web.render import render

_log = logging.getLogger(__name__)
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Too large",
    415: "Unsupported media type",
    500: "Internal error",
    503: "Unavailable",
}


class WebError(Exception):
    """An answer with a status and a message a person can act on."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/hooks/")) or path == "/openapi.json"


def status_of(error: ImagegolfError) -> int:
    if isinstance(error, SubmissionNotFound):
        return 404
    if isinstance(error, ContestNotFound | EnvironmentProblem):
        return 503  # the server is up, the contest or its database is not (yet)
    if isinstance(error, LimitExceededError):
        return 413
    return 400


def public_text(error: ImagegolfError) -> str:
    """The error as a visitor reads it; the core names no command, so the site says which one the
    organiser runs where that is the fix."""
    if isinstance(error, NoContest):
        return f"{error.message} (the organiser creates one with: imagegolf contest init)"
    return str(error)


_WHERE = {"query": "query parameter", "path": "path parameter", "header": "header", "cookie": "cookie"}
_BOUNDS = {
    "greater_than": ("gt", "more than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}


def _problem(error: Mapping[str, Any]) -> str:
    """One of pydantic's validation errors as a phrase: ``query parameter 'page' must be at most 9``.

    The ``type`` and ``ctx`` keys are pydantic 2's (pydantic_core ErrorType); a type not named
    here keeps pydantic's own ``msg``.
    """
    loc = [str(part) for part in error.get("loc", ())]
    where = f"{_WHERE[loc[0]]} '{'.'.join(loc[1:])}'" if loc and loc[0] in _WHERE else ".".join(loc)
    kind, ctx = str(error.get("type", "")), error.get("ctx") or {}
    if kind == "missing":
        return f"{where} is required"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        need = "must be a whole number"
    elif kind == "int_parsing_size":
        need = "is too large a number"
    elif kind in _BOUNDS and _BOUNDS[kind][0] in ctx:
        key, words = _BOUNDS[kind]
        need = f"must be {words} {ctx[key]}"
    elif kind == "string_pattern_mismatch" and "pattern" in ctx:
        need = f"must match {ctx['pattern']}"
    else:
        need = f"is invalid: {error.get('msg', 'invalid')}"
    given = error.get("input")
    shown = f" (got {given[:40]!r}{'…' if len(given) > 40 else ''})" if isinstance(given, str) else ""
    return f"{where} {need}{shown}"


def invalid_request(errors: Sequence[Any]) -> str:
    """FastAPI's RequestValidationError.errors() as one short line for a 400 answer."""
    problems = [_problem(e) for e in errors if isinstance(e, Mapping)] or ["it does not match the API"]
    return "invalid request: " + "; ".join(problems[:5])


def install(app: FastAPI, env: jinja2.Environment) -> None:
    def answer(
        request: Request, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        if wants_json(request):
            return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)
        page = render(
            env, "error.html", title=_TITLES.get(status, f"Error {status}"), status=status, message=message
        )
        return HTMLResponse(page, status_code=status, headers=headers)

    @app.exception_handler(WebError)
    async def web_error(request: Request, error: WebError) -> Response:
        return answer(request, error.status, error.message, error.headers)

    @app.exception_handler(ImagegolfError)
    async def imagegolf_error(request: Request, error: ImagegolfError) -> Response:
        return answer(request, status_of(error), public_text(error))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        message = str(error.detail) if error.status_code != 404 else f"nothing at {request.url.path}"
        return answer(request, error.status_code, message, dict(error.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        # FastAPI answers 422 with pydantic's error list; a wrong query or path value is a bad
        # request (RFC 9110 §15.5.1), said in one line.
        return answer(request, 400, invalid_request(error.errors()))

    @app.exception_handler(ClientDisconnect)
    async def gone(request: Request, _error: ClientDisconnect) -> Response:
        # The client went away (or web/server.py closed a connection whose body was too slow)
        # while a handler read the body: nobody is left to answer, and it is not a bug to log.
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        _log.exception("%s %s failed", request.method, request.url.path)
        return answer(
            request, 500, "the server failed on this request (a bug in imagegolf); the log has the details"
        )
