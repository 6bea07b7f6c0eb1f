"""Registry authentication: WWW-Authenticate challenges, Basic, and the Bearer token flow.

The token flow is distribution's (docs/spec/auth/token.md): a 401 names a realm, a service and a
scope; the token service, asked with Basic credentials (or an identity token through the OAuth2
``refresh_token`` grant, or anonymously), answers a token. Tokens are cached per set of scopes
until they expire; a token the registry rejects is fetched anew once.
"""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import requests

from imagegolf.registry.body import read_capped, read_error_body
from imagegolf.registry.credentials import Credentials
from imagegolf.registry.errors import AuthenticationFailed, RegistryProtocolError
from imagegolf.registry.protocol import Scopes
from imagegolf.registry.transport import Transport, host_of, is_loopback

TOKEN_BODY_CAP = 1024 * 1024
DEFAULT_EXPIRY_S = 60  # token.md: "if omitted, a default of 60 seconds should be assumed"
EXPIRY_MARGIN_S = 5
CLIENT_ID = "imagegolf"
_SCHEME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_PARAM = re.compile(r'([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


@dataclass(frozen=True)
class Challenge:
    """One challenge of a WWW-Authenticate header: a lower-case scheme and its parameters."""

    scheme: str
    params: tuple[tuple[str, str], ...] = ()

    def get(self, name: str) -> str | None:
        return dict(self.params).get(name)


def parse_challenges(header: str) -> list[Challenge]:
    """Parse ``Bearer realm="…",service="…",scope="a:b:pull,push", Basic realm="…"`` (RFC 9110 §11.6.1)."""
    challenges: list[Challenge] = []
    position = 0
    while position < len(header):
        while position < len(header) and header[position] in " ,\t":
            position += 1
        scheme = _SCHEME.match(header, position)
        if scheme is None:
            break
        position = scheme.end()
        params: list[tuple[str, str]] = []
        while True:
            while position < len(header) and header[position] in " \t":
                position += 1
            param = _PARAM.match(header, position)
            if param is None:
                break
            quoted, plain = param.group(2), param.group(3)
            value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else plain
            params.append((param.group(1).lower(), value))
            position = param.end()
            while position < len(header) and header[position] in " \t":
                position += 1
            if position < len(header) and header[position] == ",":
                position += 1
        challenges.append(Challenge(scheme.group(0).lower(), tuple(params)))
    return challenges


@dataclass
class _Token:
    value: str
    expires_at: float


class Authenticator:
    """Authorization headers for one registry; learns the scheme from the registry's 401."""

    def __init__(self, registry: str, credentials: Credentials, transport: Transport) -> None:
        self.registry = registry
        self.credentials = credentials
        self.transport = transport
        self.challenge: Challenge | None = None
        self.tokens: dict[Scopes, _Token] = {}
        self.token_requests = 0

    def headers(self, scopes: Scopes) -> dict[str, str]:
        """What to send before any 401: a cached token, a fresh one, Basic, or nothing yet."""
        key = tuple(sorted(set(scopes)))
        cached = self.tokens.get(key)
        if cached is not None and cached.expires_at > time.monotonic():
            return {"Authorization": f"Bearer {cached.value}"}
        if self.challenge is None:
            return {}
        if self.challenge.scheme == "bearer":
            return {"Authorization": f"Bearer {self._fetch_token(key)}"}
        if self.challenge.scheme == "basic" and self._has_password():
            return {"Authorization": self._basic()}
        return {}

    def on_unauthorized(
        self, response: requests.Response, scopes: Scopes, sent: dict[str, str]
    ) -> dict[str, str]:
        """The headers to retry a request with after its 401, or AuthenticationFailed."""
        challenges = parse_challenges(response.headers.get("WWW-Authenticate", ""))
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        if bearer is not None:
            self.challenge = bearer
            wanted = set(scopes) | set((bearer.get("scope") or "").split())
            key = tuple(sorted(wanted - {""}))
            self.tokens.pop(key, None)  # a token the registry rejected is fetched anew, once
            return {"Authorization": f"Bearer {self._fetch_token(key)}"}
        if basic is not None:
            self.challenge = basic
            if not self._has_password():
                raise self.failure(None)
            if sent.get("Authorization", "").startswith("Basic "):
                raise self.failure(None)
            return {"Authorization": self._basic()}
        raise RegistryProtocolError(
            f"registry {self.registry} answered 401 without a Basic or Bearer challenge",
            hint="the registry is not a distribution-API registry, or it is misconfigured",
        )

    def failure(self, detail: str | None, *, where: str | None = None) -> AuthenticationFailed:
        """The error for refused (or missing) credentials, naming the registry and the source."""
        place = f"registry {self.registry}" + (f" (its token service {where})" if where else "")
        if self.credentials.present:
            message = f"{place} refused the credentials from {self.credentials.source}"
            hint = "check the username and password, or log in again"
        else:
            message = f"{place} requires authentication; {self.credentials.source}"
            hint = "pass --username/--password, set IMAGEGOLF_REGISTRY_USERNAME/PASSWORD, or `docker login`"
        if detail:
            message += f" ({detail})"
        source = self.credentials.source
        return AuthenticationFailed(message, registry=self.registry, source=source, hint=hint)

    def _has_password(self) -> bool:
        return self.credentials.username is not None and self.credentials.password is not None

    def _basic(self) -> str:
        pair = f"{self.credentials.username}:{self.credentials.password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def _fetch_token(self, scopes: Scopes) -> str:
        challenge = self.challenge
        realm = challenge.get("realm") if challenge else None
        if not realm:
            raise RegistryProtocolError(f"registry {self.registry} asked for a token but named no realm")
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise RegistryProtocolError(f"registry {self.registry} named an invalid token realm {realm!r}")
        if parts.scheme == "http" and not (self.transport.http_allowed or is_loopback(host_of(parts.netloc))):
            raise RegistryProtocolError(
                f"registry {self.registry} sends credentials to a plain-HTTP token service {parts.netloc}",
                hint="use --insecure only for a registry you trust",
            )
        service = challenge.get("service") if challenge else None
        response = self._token_request(realm, service, scopes)
        if response.status_code in (401, 403):
            detail = read_error_body(response).decode("utf-8", "replace").strip()[:200]
            raise self.failure(
                f"{response.status_code}: {detail}" if detail else str(response.status_code),
                where=parts.netloc,
            )
        if response.status_code != 200:
            read_error_body(response)
            raise RegistryProtocolError(
                f"the token service {parts.netloc} of {self.registry} answered {response.status_code}"
            )
        body = read_capped(response, TOKEN_BODY_CAP, "the token answer")
        token, expires_in = _token_from(body, parts.netloc)
        self.token_requests += 1
        expires_at = time.monotonic() + max(expires_in - EXPIRY_MARGIN_S, 1)
        self.tokens[scopes] = _Token(token, expires_at)
        return token

    def _token_request(self, realm: str, service: str | None, scopes: Scopes) -> requests.Response:
        params: list[tuple[str, str]] = [("service", service)] if service else []
        params += [("scope", scope) for scope in scopes]
        if self.credentials.identity_token:
            form = dict(
                params,
                grant_type="refresh_token",
                client_id=CLIENT_ID,
                refresh_token=self.credentials.identity_token,
            )
            if scopes:
                form["scope"] = " ".join(scopes)
            body = urlencode(form).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            return self.transport.send_once("POST", realm, headers=headers, data=body)
        headers = {"Authorization": self._basic()} if self._has_password() else {}
        if self._has_password():
            params.append(("account", self.credentials.username or ""))
        return self.transport.send_once("GET", realm, headers=headers, params=params)


def _token_from(body: bytes, where: str) -> tuple[str, int]:
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        answer = None
    if not isinstance(answer, dict):
        raise RegistryProtocolError(f"the token service {where} answered something that is not JSON")
    token = answer.get("token") or answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise RegistryProtocolError(f"the token service {where} answered no token")
    expires_in = answer.get("expires_in")
    if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
        expires_in = DEFAULT_EXPIRY_S
    return token, expires_in
