"""``/auth/token``: the registry's token server (distribution's token-auth specification).

The registry (``auth: token: realm: <site>/auth/token``) sends a client without a token here, with
the ``service`` and ``scope`` of what it was about to do. Two ways in, as docker, podman, skopeo and
imagegolf's own client use them:

- ``GET /auth/token?service=…&scope=…&scope=…`` with HTTP Basic credentials, or none
  (docs/spec/auth/token.md);
- ``POST /auth/token``, form ``grant_type=password&username=…&password=…&service=…&scope=…``
  (docs/spec/auth/oauth.md). No refresh tokens are handed out (``offline_token`` and
  ``access_type=offline`` are not honoured; token.md makes ``refresh_token`` optional), so the
  ``refresh_token`` grant is refused: clients then keep the password, as with ``docker login``
  to any registry without refresh tokens.

Wrong credentials are a 401 (token.md: "the token server should return a 401 Unauthorized
response"); no credentials get a token granting nothing, and the registry then refuses the
request itself. What a token grants is contest/tokens.py's policy. Passwords are never logged;
bcrypt runs in the thread pool.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from imagegolf.contest import Contest
from imagegolf.contest import accounts as contest_accounts
from imagegolf.contest.signing import signing_key
from imagegolf.contest.tokens import (
    JUDGE_ACCOUNT,
    TOKEN_TTL_S,
    granted,
    issue_token,
    judge_password,
    parse_scopes,
    scope_list,
    service_name,
)
from imagegolf.web.actions import client_ip
from imagegolf.web.guard import read_body
from imagegolf.web.site import Site

_log = logging.getLogger(__name__)
PATH = "/auth/token"
REALM = "imagegolf"
MAX_FORM_FIELDS = 1000
# RFC 6749 §5.1: "Cache-Control: no-store" and "Pragma: no-cache" on any answer holding a token.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenError(Exception):
    """An answer other than a token: a status, distribution's error envelope (registry/api/errcode:
    ``{"errors": [{"code", "message"}]}``) and, for the OAuth2 form, RFC 6749 §5.2's ``error``."""

    def __init__(self, status: int, code: str, message: str, oauth_error: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.oauth_error = status, code, message, oauth_error

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"errors": [{"code": self.code, "message": self.message}]}
        if self.oauth_error:
            body |= {"error": self.oauth_error, "error_description": self.message}
        headers = dict(NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
        return JSONResponse(body, status_code=self.status, headers=headers)


def _unauthorized(message: str, oauth: bool = False) -> TokenError:
    return TokenError(401, "UNAUTHORIZED", message, "invalid_grant" if oauth else None)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """The request's HTTP Basic (name, password), None without an Authorization header; a 401
    when the header is there but is not Basic credentials (RFC 7617)."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise _unauthorized("send HTTP Basic credentials (or none, for anonymous access)")
    try:
        pair = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthorized("the Basic credentials are not base64 of UTF-8 name:password") from None
    name, colon, password = pair.partition(":")
    if not colon or not name:
        raise _unauthorized("the Basic credentials hold no name:password")
    return name, password


def check_service(contest: Contest, given: Sequence[str], *, oauth: bool = False) -> str:
    """The token's audience: the contest's service; another one is a 400 (its token would be
    refused by the registry anyway: token.go Verify checks ``aud``)."""
    ours = service_name(contest)
    for service in given:
        if service != ours:
            raise TokenError(
                400,
                "UNSUPPORTED",
                f"service {service[:100]!r} is not this token server's (it serves {ours!r})",
                "invalid_request" if oauth else None,
            )
    return ours


async def authenticate(site: Site, contest: Contest, name: str, password: str) -> bool:
    """Whether (name, password) is the judge's or an entrant account's. The judge's name is
    reserved: an entrant account of that name can never log in."""
    if name == JUDGE_ACCOUNT:
        private, _cert = await run_in_threadpool(signing_key, site.db, contest.id)
        expected = judge_password(private).encode("ascii")
        return hmac.compare_digest(password.encode("utf-8", "surrogateescape"), expected)
    return await run_in_threadpool(contest_accounts.verify, site.db, contest, name, password)


async def answer_token(
    site: Site, contest: Contest, request: Request, account: str | None, scope_values: Sequence[str], *,
    oauth: bool,
) -> JSONResponse:  # fmt: skip
    scopes = parse_scopes(scope_values)
    access = granted(contest, account, scopes)
    now = dt.datetime.now(dt.UTC)
    private, cert = await run_in_threadpool(signing_key, site.db, contest.id)
    token = issue_token(
        private, cert, subject=account or "", audience=service_name(contest), access=access, now=now
    )
    granted_text = scope_list(access)
    _log.info(
        "token for %s from %s: asked %s, granted %s",
        account or "anonymous",
        client_ip(request),
        " ".join(str(s) for s in scopes) or "nothing",
        granted_text or "nothing",
    )
    body: dict[str, Any] = {
        "token": token,
        "access_token": token,
        "expires_in": TOKEN_TTL_S,
        "issued_at": now.replace(microsecond=0).isoformat().replace("+00:00", "Z"),  # RFC 3339
    }
    if oauth:
        body["scope"] = granted_text  # oauth.md: the POST answer's scope is REQUIRED
    return JSONResponse(body, headers=NO_STORE)


async def read_form(request: Request) -> dict[str, list[str]]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise TokenError(
            400, "UNSUPPORTED", "send the form as application/x-www-form-urlencoded", "invalid_request"
        )
    body = await read_body(request)  # capped at guard.MAX_BODY
    try:
        pairs = parse_qsl(
            body.decode("ascii"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS, errors="strict"
        )
    except (UnicodeDecodeError, ValueError):
        raise TokenError(
            400, "UNSUPPORTED", "the form is not valid urlencoded UTF-8", "invalid_request"
        ) from None
    form: dict[str, list[str]] = {}
    for key, value in pairs:
        form.setdefault(key, []).append(value)
    return form


def router(site: Site) -> APIRouter:
    api = APIRouter()

    @api.get(PATH, tags=["registry"])
    async def get_token(request: Request) -> JSONResponse:
        """A registry token (distribution token.md): `service`, `scope` (repeatable), HTTP Basic
        credentials or none. Answers `token`, `access_token`, `expires_in`, `issued_at`."""
        try:
            query = request.query_params
            contest = await run_in_threadpool(site.contest)
            check_service(contest, query.getlist("service"))
            credentials = basic_credentials(request)
            account = None
            if credentials is not None:
                # `account` (the client's own idea of its name) is not trusted: the subject is
                # always derived from the credentials (scope.md, "Authorization Server Use").
                name, password = credentials
                if not await authenticate(site, contest, name, password):
                    _log.info("token refused from %s: wrong name or password", client_ip(request))
                    raise _unauthorized("incorrect username or password")
                account = name
            return await answer_token(site, contest, request, account, query.getlist("scope"), oauth=False)
        except TokenError as error:
            return error.response()

    @api.post(PATH, tags=["registry"])
    async def post_token(request: Request) -> JSONResponse:
        """A registry token by OAuth2 (distribution oauth.md): form `grant_type=password` with
        `username`, `password`, `service`, `scope`; `refresh_token` grants are not supported."""
        try:
            form = await read_form(request)
            contest = await run_in_threadpool(site.contest)
            grant = (form.get("grant_type") or [""])[0]
            if grant == "refresh_token":
                raise TokenError(
                    400,
                    "UNSUPPORTED",
                    "this token server hands out no refresh tokens: use grant_type=password",
                    "unsupported_grant_type",
                )
            if grant != "password":
                raise TokenError(
                    400, "UNSUPPORTED", f"grant_type {grant[:40]!r}: use password", "unsupported_grant_type"
                )
            check_service(contest, form.get("service", []), oauth=True)
            name, password = (form.get("username") or [""])[0], (form.get("password") or [""])[0]
            if not name or not password:
                raise TokenError(
                    400,
                    "UNSUPPORTED",
                    "grant_type=password needs a username and a password",
                    "invalid_request",
                )
            if not await authenticate(site, contest, name, password):
                _log.info("token refused from %s: wrong name or password", client_ip(request))
                raise _unauthorized("incorrect username or password", oauth=True)
            return await answer_token(site, contest, request, name, form.get("scope", []), oauth=True)
        except TokenError as error:
            return error.response()

    return api


__all__ = ["PATH", "REALM", "basic_credentials", "router"]
