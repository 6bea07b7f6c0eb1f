"""Registry authentication: WWW-Authenticate challenges, Basic, and the Bearer token flow.

The token flow is distribution's (docs/spec/auth/token.md): a 401 names a realm, a service and a
scope; the token service, asked with Basic credentials (or an identity token through the OAuth2
``refresh_token`` grant, or anonymously), answers a token. Tokens are cached per set of scopes
until they expire; a token the registry rejects is fetched anew once.

Credentials go only where they belong: a realm on the registry's own origin gets them as the
registry does; a realm on another origin gets them only over HTTPS, or over plain HTTP when both
the registry and the realm are loopback hosts (:func:`may_send_credentials`). Redirects never
carry them to another origin (transport.py). The credentials of a request are those of its
repository (the first scope): a repository-scoped auth.json entry may differ from the host's.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from imagegolf.errors import Setting
from imagegolf.registry.body import read_capped, read_error_body
from imagegolf.registry.credentials import Credentials
from imagegolf.registry.errors import AuthenticationFailed, RegistryProtocolError
from imagegolf.registry.http import Response
from imagegolf.registry.protocol import Scopes
from imagegolf.registry.transport import Transport, host_of, is_loopback, origin

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


def may_send_credentials(registry_url: str, realm: str) -> bool:
    """May credentials for the registry at ``registry_url`` go to the token service ``realm``?

    Yes on the registry's own origin (scheme, host and port: it gets them anyway); else only over
    HTTPS, or over plain HTTP when the registry and the realm are both on loopback.
    """
    if origin(registry_url) == origin(realm):
        return True
    parts = urlsplit(realm)
    if parts.scheme == "https":
        return True
    registry_host = urlsplit(registry_url).hostname or ""
    return parts.scheme == "http" and is_loopback(registry_host) and is_loopback(parts.hostname or "")


def login_commands(registry: str, transport: Transport) -> list[str]:
    """``podman login`` / ``docker login`` lines that work as printed for this registry (none when
    a private CA was given: each engine needs it installed its own way first)."""
    if isinstance(transport.verify, str):
        return []
    host = shlex.quote(registry)
    plain = transport.base_url.startswith("http://")
    if plain or transport.verify is False:
        commands = [f"podman login --tls-verify=false {host}"]
        # docker trusts plain HTTP on loopback by itself; elsewhere only through daemon.json
        return [*commands, f"docker login {host}"] if plain and transport.loopback else commands
    return [f"podman login {host}", f"docker login {host}"]


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
        self.credentials = credentials  # the host's; a repository may have its own (credentials_for)
        self.transport = transport
        self.challenge: Challenge | None = None
        self.tokens: dict[Scopes, _Token] = {}
        self.token_requests = 0
        self._by_repository: dict[str, Credentials] = {}
        self._last = credentials  # those of the latest request, for failure()

    def credentials_for(self, scopes: Scopes) -> Credentials:
        """The credentials for the repository of the first scope (the host's when there is none)."""
        repository = next((s.split(":")[1] for s in scopes if s.startswith("repository:")), None)
        if repository is None:
            return self.credentials
        found = self._by_repository.get(repository)
        if found is None:
            found = self._by_repository[repository] = self.credentials.for_repository(repository)
        return found

    def headers(self, scopes: Scopes) -> dict[str, str]:
        """What to send before any 401: a cached token, a fresh one, Basic, or nothing yet."""
        key = tuple(sorted(set(scopes)))
        credentials = self._last = self.credentials_for(scopes)
        cached = self.tokens.get(key)
        if cached is not None and cached.expires_at > time.monotonic():
            return {"Authorization": f"Bearer {cached.value}"}
        if self.challenge is None:
            return {}
        if self.challenge.scheme == "bearer":
            return {"Authorization": f"Bearer {self._fetch_token(key, credentials)}"}
        if self.challenge.scheme == "basic" and _has_password(credentials):
            return {"Authorization": _basic(credentials)}
        return {}

    def on_unauthorized(self, response: Response, scopes: Scopes, sent: dict[str, str]) -> dict[str, str]:
        """The headers to retry a request with after its 401, or AuthenticationFailed."""
        challenges = parse_challenges(response.headers.get("WWW-Authenticate", ""))
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        credentials = self._last = self.credentials_for(scopes)
        if bearer is not None:
            self.challenge = bearer
            wanted = set(scopes) | set((bearer.get("scope") or "").split())
            key = tuple(sorted(wanted - {""}))
            self.tokens.pop(key, None)  # a token the registry rejected is fetched anew, once
            return {"Authorization": f"Bearer {self._fetch_token(key, credentials)}"}
        if basic is not None:
            self.challenge = basic
            if not _has_password(credentials):
                raise self.failure(None)
            if sent.get("Authorization", "").startswith("Basic "):
                raise self.failure(None)
            return {"Authorization": _basic(credentials)}
        raise RegistryProtocolError(
            f"registry {self.registry} answered 401 without a Basic or Bearer challenge",
            hint="the registry is not a distribution-API registry, or it is misconfigured",
        )

    def rejected(self, response: Response, detail: str | None) -> AuthenticationFailed:
        """The error for a 401 to a request retried with fresh credentials. A Bearer challenge with
        ``error="insufficient_scope"`` means the credentials are good but grant too little (the
        token-auth spec, docs/spec/auth/token.md: the registry names the scope it needed)."""
        challenges = parse_challenges(response.headers.get("WWW-Authenticate", ""))
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        if bearer is not None and bearer.get("error") == "insufficient_scope" and self._last.present:
            needed = bearer.get("scope") or "this request"
            return AuthenticationFailed(
                f"registry {self.registry} accepted the credentials from {self._last.source}, but "
                f"they grant no access to {needed}",
                registry=self.registry,
                source=self._last.source,
                hint="push to a repository your account may write (e.g. your own, REPOSITORY/NAME)",
            )
        return self.failure(detail)

    def failure(self, detail: str | None, *, where: str | None = None) -> AuthenticationFailed:
        """The error for refused (or missing) credentials, naming the registry and the source."""
        credentials = self._last
        place = f"registry {self.registry}" + (f" (its token service {where})" if where else "")
        if credentials.present:
            message = f"{place} refused the credentials from {credentials.source}"
            hint = "check the username and password, or log in again"
            settings: tuple[Setting, ...] = ()
        else:
            message = f"{place} requires authentication; {credentials.source}"
            logins = " or ".join(f"`{command}`" for command in login_commands(self.registry, self.transport))
            hint = (
                "give a username and password, set IMAGEGOLF_REGISTRY_USERNAME and "
                "IMAGEGOLF_REGISTRY_PASSWORD" + (f", or log in first: {logins}" if logins else "")
            )
            settings = (Setting.CREDENTIALS,)
        if detail:
            message += f" ({detail})"
        return AuthenticationFailed(
            message, registry=self.registry, source=credentials.source, hint=hint, settings=settings
        )

    def _fetch_token(self, scopes: Scopes, credentials: Credentials) -> str:
        challenge = self.challenge
        realm = challenge.get("realm") if challenge else None
        if not realm:
            raise RegistryProtocolError(f"registry {self.registry} asked for a token but named no realm")
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
            raise RegistryProtocolError(f"registry {self.registry} named an invalid token realm {realm!r}")
        if credentials.present and not may_send_credentials(self.transport.base_url, realm):
            raise RegistryProtocolError(
                f"registry {self.registry} sends its credentials to a token service on another "
                f"origin over plain HTTP ({parts.netloc}); imagegolf does not",
                hint="the token service must use HTTPS; plain HTTP is accepted only when the "
                "registry and its token service are both on loopback",
            )
        if parts.scheme == "http" and not (self.transport.http_allowed or is_loopback(host_of(parts.netloc))):
            raise RegistryProtocolError(
                f"registry {self.registry} names a plain-HTTP token service {parts.netloc}",
                hint="allow insecure access only for a registry you trust",
                settings=(Setting.INSECURE,),
            )
        service = challenge.get("service") if challenge else None
        response = self._token_request(realm, service, scopes, credentials)
        if response.status in (401, 403):
            detail = read_error_body(response).decode("utf-8", "replace").strip()[:200]
            raise self.failure(
                f"{response.status}: {detail}" if detail else str(response.status),
                where=parts.netloc,
            )
        if response.status != 200:
            read_error_body(response)
            raise RegistryProtocolError(
                f"the token service {parts.netloc} of {self.registry} answered {response.status}"
            )
        body = read_capped(response, TOKEN_BODY_CAP, "the token answer")
        token, expires_in = _token_from(body, parts.netloc)
        self.token_requests += 1
        expires_at = time.monotonic() + max(expires_in - EXPIRY_MARGIN_S, 1)
        self.tokens[scopes] = _Token(token, expires_at)
        return token

    def _token_request(
        self, realm: str, service: str | None, scopes: Scopes, credentials: Credentials
    ) -> Response:
        params: list[tuple[str, str]] = [("service", service)] if service else []
        params += [("scope", scope) for scope in scopes]
        if credentials.identity_token:
            form = dict(
                params,
                grant_type="refresh_token",
                client_id=CLIENT_ID,
                refresh_token=credentials.identity_token,
            )
            if scopes:
                form["scope"] = " ".join(scopes)
            body = urlencode(form).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            return self.transport.send_once("POST", realm, headers=headers, data=body)
        headers = {"Authorization": _basic(credentials)} if _has_password(credentials) else {}
        if _has_password(credentials):
            params.append(("account", credentials.username or ""))
        return self.transport.send_once("GET", realm, headers=headers, params=params)


def _has_password(credentials: Credentials) -> bool:
    return credentials.username is not None and credentials.password is not None


def _basic(credentials: Credentials) -> str:
    pair = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


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
