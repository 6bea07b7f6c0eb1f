"""Every failure as a clear answer: JSON under /api/ and /hooks/, else an HTML page; never a traceback."""

from __future__ import annotations

import logging

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, JSONResponse, Response

from imagegolf.contest import ContestNotFound, SubmissionNotFound
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
        return answer(request, status_of(error), str(error))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        message = str(error.detail) if error.status_code != 404 else f"nothing at {request.url.path}"
        return answer(request, error.status_code, message, dict(error.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in error.errors()
        )
        return answer(request, 400, f"invalid request: {problems}")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        _log.exception("%s %s failed", request.method, request.url.path)
        return answer(
            request, 500, "the server failed on this request (a bug in imagegolf); the log has the details"
        )
