"""The contest as the registry's token server (distribution's token-auth specification).

With ``auth: token:`` in its configuration (registry/local.py :class:`TokenAuth`), Debian's
docker-registry (distribution 2.8.2) sends every client without a valid Bearer token to imagegolf's
``/auth/token`` (web/token.py), which authenticates the client, decides what it may do here
(:func:`granted`) and answers a signed JWT (:func:`issue_token`) that the registry checks. So the
registry itself refuses a push into someone else's repository.

Sources, read at tag v2.8.2 of github.com/distribution/distribution:

- docs/spec/auth/token.md: the request (``service``, repeated ``scope``) and the answer
  (``token``/``access_token``, ``expires_in``, ``issued_at``); the granted set is the
  intersection of what was asked and what is allowed, and a smaller grant is not an error.
- docs/spec/auth/scope.md: the scope grammar (:func:`parse_scope`).
- docs/spec/auth/jwt.md and registry/auth/token/token.go: the token the registry accepts.
- registry/auth/token/accesscontroller.go: how the registry checks it.

Pure but for the crypto (and :func:`judge_credentials`, which reads the contest's key).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from imagegolf.contest.model import Contest
from imagegolf.contest.signing import signing_key
from imagegolf.db import Database

# The registry's `auth.token.issuer`: token.go Verify refuses a token whose `iss` is not it.
ISSUER = "imagegolf"
# How long a token lives. token.md: "a token should never be returned with less than 60 seconds to
# live"; token.go Verify adds a Leeway of 60 s to `exp` and `nbf` for clock skew.
TOKEN_TTL_S = 300
# The account the contest's own watcher and workers log in with: pull on the contest's repositories.
JUDGE_ACCOUNT = "imagegolf-judge"
PULL, PUSH = "pull", "push"
MAX_NAME = 255  # reference/reference.go NameTotalLengthMax: a longer name is no repository's


def service_name(contest: Contest) -> str:
    """The registry's `auth.token.service`: the token's audience (token.go Verify checks `aud`)."""
    return f"imagegolf-{contest.name}"


def judge_password(private_key_pem: str) -> str:
    """The judge account's password: HMAC-SHA256 keyed by the contest's signing key (PEM) over
    ``b"imagegolf judge"``, in hex. Whoever can read the key (the database) can log in as the judge;
    nobody else can, and it changes only with the key."""
    return hmac.new(private_key_pem.encode("ascii"), b"imagegolf judge", hashlib.sha256).hexdigest()


def judge_credentials(db: Database, contest: Contest) -> tuple[str, str]:
    """(account, password) for the contest's judge: pull on every repository of the contest."""
    private, _certificate = signing_key(db, contest.id)
    return JUDGE_ACCOUNT, judge_password(private)


# -- scopes ------------------------------------------------------------------------------------------

# docs/spec/auth/scope.md, "Resource Scope Grammar":
#   resourcescope := resourcetype ":" resourcename ":" action [ ',' action ]*
#   resourcetype  := resourcetypevalue [ '(' resourcetypevalue ')' ]      resourcetypevalue := /[a-z0-9]+/
#   resourcename  := [ hostname '/' ] component [ '/' component ]*
#   hostname      := hostcomponent ['.' hostcomponent]* [':' port-number]
#   hostcomponent := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/   port-number := /[0-9]+/
#   component     := alpha-numeric [ separator alpha-numeric ]*  alpha-numeric := /[a-z0-9]+/
#   separator     := /[_.]|__|[-]*/                                         action := /[a-z]*/
# The separator `[-]*` may be empty, which only joins two alpha-numeric runs: `-+` below is the same
# language without the exponential backtracking that `[-]*` inside a repeat costs a backtracking
# regex engine (Go's is RE2, Python's is not). Each '/'-separated part is matched on its own.
_TYPE = re.compile(r"([a-z0-9]+)(?:\(([a-z0-9]+)\))?")
_HOST_PART = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_HOSTNAME = re.compile(rf"{_HOST_PART}(?:\.{_HOST_PART})*(?::[0-9]+)?")
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*")
_ACTION = re.compile(r"[a-z]*")
# The catalog's action is "*" (registry/handlers/app.go appendCatalogAccessRecord asks for
# `registry:catalog:*`), outside the grammar's /[a-z]*/: accepted as an action, granted to nobody.
_CATALOG_ACTION = "*"


@dataclass(frozen=True)
class Scope:
    """One resource scope a client asked for: ``type[(class)]:name:action,…``."""

    type: str
    name: str
    actions: tuple[str, ...]
    resource_class: str | None = None

    def __str__(self) -> str:
        kind = f"{self.type}({self.resource_class})" if self.resource_class else self.type
        return f"{kind}:{self.name}:{','.join(self.actions)}"


@dataclass(frozen=True)
class Access:
    """What a token grants on one resource: the JWT's `access` claim entry (jwt.md; token.go
    ResourceActions: ``type``, ``class`` when there is one, ``name``, ``actions``)."""

    type: str
    name: str
    actions: tuple[str, ...]
    resource_class: str | None = None

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": self.type, "name": self.name, "actions": list(self.actions)}
        if self.resource_class:  # token.go: `json:"class,omitempty"`
            entry["class"] = self.resource_class
        return entry


def valid_name(name: str) -> bool:
    """Whether ``name`` is a resourcename of scope.md's grammar (at most 255 characters)."""
    if not name or len(name) > MAX_NAME:
        return False
    parts = name.split("/")
    if all(_COMPONENT.fullmatch(part) for part in parts):
        return True
    # `[ hostname '/' ]`: the first part may be a host (upper case, a port) when more follow.
    return (
        len(parts) > 1
        and _HOSTNAME.fullmatch(parts[0]) is not None
        and all(_COMPONENT.fullmatch(part) for part in parts[1:])
    )


def parse_scope(text: str) -> Scope | None:
    """One ``resourcescope``, or None when it is malformed.

    scope.md's note: "the resourcename may contain one `:` due to a possible port number in the
    hostname component", so the type ends at the first ':' and the actions start after the last
    (an action holds no ':'); the name is what lies between and must match the grammar. Malformed
    scopes are ignored, not an error, as distribution's token servers do
    (contrib/token-server/token.go ResolveScopeSpecifiers: "ignoring unsupported scope format").
    Empty actions (``pull,,push``, a trailing ``:``) ask for nothing and are dropped.
    """
    kind, colon, rest = text.partition(":")
    name, colon2, actions_text = rest.rpartition(":")
    if not colon or not colon2:
        return None
    typed = _TYPE.fullmatch(kind)
    if typed is None or not valid_name(name):
        return None
    actions: list[str] = []
    for action in actions_text.split(","):
        if not (_ACTION.fullmatch(action) or action == _CATALOG_ACTION):
            return None
        if action and action not in actions:
            actions.append(action)
    return Scope(typed.group(1), name, tuple(actions), typed.group(2))


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Every well-formed scope of the request's ``scope`` values: each value may hold several,
    separated by spaces (scope.md: ``scope := resourcescope [ ' ' resourcescope ]*``; token.md:
    "specified multiple times if there is more than one"; oauth.md: the POST form's single
    ``scope`` "may contain multiple scopes using the scope list format")."""
    return [scope for value in values for part in value.split(" ") if part and (scope := parse_scope(part))]


# -- the policy --------------------------------------------------------------------------------------


def contest_repository(contest: Contest, name: str) -> bool:
    """Whether ``name`` is one of the contest's repositories: the shared one and, with per-entrant
    repositories, every ``REPOSITORY/ENTRANT``."""
    return name == contest.repository or (
        contest.per_entrant and contest.entrant_of_repository(name) is not None
    )


def allowed(contest: Contest, account: str | None, scope_type: str, name: str) -> frozenset[str]:
    """The actions ``account`` (authenticated; None: anonymous) may do on a resource.

    - anonymous: nothing (a contest's repositories are not public);
    - the judge (:data:`JUDGE_ACCOUNT`): pull on every repository of the contest;
    - an entrant, per-entrant repositories: push and pull on ``REPOSITORY/<own name>`` only;
    - an entrant, a shared repository: push and pull on ``REPOSITORY``.

    A push needs pull as well: registry/handlers/app.go appendAccessRecords asks for both on
    POST, PUT and PATCH. Nothing else is granted: no ``delete``, no ``registry:catalog:*``, nothing
    outside the contest.
    """
    if account is None or scope_type != "repository":
        return frozenset()
    if account == JUDGE_ACCOUNT:
        return frozenset({PULL}) if contest_repository(contest, name) else frozenset()
    if contest.per_entrant:
        own = contest.entrant_of_repository(name) == account
        return frozenset({PULL, PUSH}) if own else frozenset()
    return frozenset({PULL, PUSH}) if name == contest.repository else frozenset()


def granted(contest: Contest, account: str | None, scopes: Iterable[Scope]) -> list[Access]:
    """What a token for ``account`` carries: for each resource asked for, the intersection of the
    actions asked and the actions allowed (token.md: "It is this intersected set of access which
    is placed in the returned token"). Resources with nothing granted are left out; scopes on the
    same resource are merged, in the order asked."""
    merged: dict[tuple[str, str | None, str], list[str]] = {}
    for scope in scopes:
        asked = merged.setdefault((scope.type, scope.resource_class, scope.name), [])
        asked.extend(action for action in scope.actions if action not in asked)
    result = []
    for (kind, resource_class, name), asked in merged.items():
        may = allowed(contest, account, kind, name)
        actions = tuple(action for action in asked if action in may)
        if actions:
            result.append(Access(kind, name, actions, resource_class))
    return result


def scope_list(access: Iterable[Access]) -> str:
    """The granted access as a scope list (oauth.md: the POST answer's ``scope``)."""
    return " ".join(str(Scope(a.type, a.name, a.actions, a.resource_class)) for a in access)


# -- the token ---------------------------------------------------------------------------------------


def issue_token(
    private_pem: str,
    cert_pem: str,
    *,
    subject: str,
    audience: str,
    access: Iterable[Access],
    now: dt.datetime,
) -> str:
    """An ES256 JWT the registry accepts (registry/auth/token/token.go, v2.8.2).

    - Header: ``typ`` JWT, ``alg`` ES256 and ``x5c``, the signing certificate (standard base64 of its
      DER): VerifySigningKey takes ``x5c`` first, parseAndVerifyCertChain verifies it against the
      ``rootcertbundle`` (the same self-signed certificate, contest/signing.py), then Verify checks
      the signature with the leaf's key (libtrust: ES256 wants a P-256 key, the signature r‖s).
    - Claims (token.go ClaimSet): ``iss`` must be the registry's ``issuer`` and ``aud`` its
      ``service`` (one string: ``Audience string``); ``exp``/``nbf`` are checked with 60 s of
      leeway; ``iat``, ``jti``; ``access``: what accessSet() reads (type and name; class is
      kept for the record).
    """
    key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("the contest's signing key is not an ECDSA P-256 key: ES256 needs one")
    certificate = x509.load_pem_x509_certificate(cert_pem.encode("ascii"))
    der = certificate.public_bytes(serialization.Encoding.DER)
    issued = int(now.timestamp())
    claims = {
        "iss": ISSUER,
        "sub": subject,
        "aud": audience,
        "exp": issued + TOKEN_TTL_S,
        "nbf": issued,
        "iat": issued,
        "jti": secrets.token_urlsafe(16),
        "access": [entry.to_json() for entry in access],
    }
    headers = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der).decode("ascii")]}
    return jwt.encode(claims, key, algorithm="ES256", headers=headers)


__all__ = [
    "ISSUER",
    "JUDGE_ACCOUNT",
    "PULL",
    "PUSH",
    "TOKEN_TTL_S",
    "Access",
    "Scope",
    "allowed",
    "contest_repository",
    "granted",
    "issue_token",
    "judge_credentials",
    "judge_password",
    "parse_scope",
    "parse_scopes",
    "scope_list",
    "service_name",
    "valid_name",
]
