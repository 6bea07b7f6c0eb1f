"""The token server's pure parts (contest/tokens.py): scope parsing by scope.md's grammar, the
grant policy, the JWT and the judge's password. The servers are in test_token_server.py."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import time
from pathlib import Path

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from imagegolf.contest import Contest, create_contest
from imagegolf.contest.model import DEFAULT_METRIC, DEFAULT_PATTERN, Repositories
from imagegolf.contest.signing import make_signing_key
from imagegolf.contest.tokens import (
    ISSUER,
    JUDGE_ACCOUNT,
    TOKEN_TTL_S,
    Access,
    Scope,
    granted,
    issue_token,
    judge_credentials,
    judge_password,
    parse_scope,
    parse_scopes,
    scope_list,
    service_name,
)
from imagegolf.db import open_database
from imagegolf.judge.matching import MatchMode

KEY, CERT = make_signing_key("imagegolf test token issuer")
NOW = dt.datetime(2026, 11, 28, 16, 0, tzinfo=dt.UTC)


def public_key(certificate: x509.Certificate) -> ec.EllipticCurvePublicKey:
    key = certificate.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def contest_of(repositories: Repositories, repository: str = "contest") -> Contest:
    return Contest(
        id=1,
        name="golf",
        phrase="hello IDBS engineering",
        match=MatchMode.CONTAINS,
        metric=DEFAULT_METRIC,
        registry="127.0.0.1:5000",
        repository=repository,
        platforms=(),
        entrant_pattern=DEFAULT_PATTERN,
        entrant_map={},
        starts_at=None,
        ends_at=None,
        repositories=repositories,
    )


PER_ENTRANT = contest_of(Repositories.PER_ENTRANT)
SHARED = contest_of(Repositories.SHARED)


def asked(*texts: str) -> list[Scope]:
    return parse_scopes(texts)


# -- parsing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("repository:contest/alice:pull,push", Scope("repository", "contest/alice", ("pull", "push"))),
        ("repository:contest:pull", Scope("repository", "contest", ("pull",))),
        # scope.md: the name may hold one ':' (a port in its hostname part)
        (
            "repository:127.0.0.1:5000/contest/alice:push",
            Scope("repository", "127.0.0.1:5000/contest/alice", ("push",)),
        ),
        (
            "repository:Registry.Example:5000/a/b:pull",
            Scope("repository", "Registry.Example:5000/a/b", ("pull",)),
        ),
        ("repository:Contest/alice:pull", Scope("repository", "Contest/alice", ("pull",))),  # a host part
        # the class form
        (
            "repository(plugin):contest/alice:pull",
            Scope("repository", "contest/alice", ("pull",), "plugin"),
        ),
        ("registry:catalog:*", Scope("registry", "catalog", ("*",))),
        # empty actions ask for nothing; repeats count once
        ("repository:contest/alice:", Scope("repository", "contest/alice", ())),
        ("repository:contest/alice:pull,,pull", Scope("repository", "contest/alice", ("pull",))),
        ("repository:a__b.c-d---e/f_g:pull", Scope("repository", "a__b.c-d---e/f_g", ("pull",))),
    ],
)
def test_well_formed_scopes_parse(text: str, expected: Scope) -> None:
    assert parse_scope(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "repository",
        "repository:contest/alice",  # no actions part
        "Repository:contest/alice:pull",  # resourcetypevalue is lower case
        "repository():contest:pull",
        "repository(Plugin):contest:pull",
        "repository:contest/Alice:pull",  # a component is lower case (only a host part may not be)
        "repository:Contest:pull",  # a lone part is a component, not a host
        "repository::pull",
        "repository:contest//alice:pull",
        "repository:/contest:pull",
        "repository:contest/:pull",
        "repository:contest/alice:PULL",
        "repository:contest/alice:pull;push",
        "repository:contest/alice:pu-ll",
        "repository:-contest:pull",
        "repository:contest_:pull",
        "repository:contest/a:b:c:pull",  # two ':' in the name: only one port is allowed
        "repository:host:port/contest:pull",  # a port is digits
        "repository:host:5000:pull",  # a name is not a host alone
        "repository:contest alice:pull",
        "repository:" + "a" * 256 + ":pull",  # reference.NameTotalLengthMax
    ],
)
def test_malformed_scopes_are_ignored(text: str) -> None:
    assert parse_scope(text) is None
    assert parse_scopes([text]) == []


def test_several_scopes_per_value_and_several_values() -> None:
    scopes = parse_scopes(
        ["repository:contest/alice:pull,push repository:contest/bob:pull", "junk  registry:catalog:*", ""]
    )
    assert [str(s) for s in scopes] == [
        "repository:contest/alice:pull,push",
        "repository:contest/bob:pull",
        "registry:catalog:*",
    ]


def test_a_pathological_name_is_refused_quickly() -> None:
    # `[-]*` inside a repeat (the grammar's separator) backtracks exponentially in Python's re
    started = time.monotonic()
    for text in ("a" * 250 + "!", "a-" * 120 + "!", "a." * 120 + "A/b", "a" * 255):
        parse_scope(f"repository:{text}:pull")
    assert time.monotonic() - started < 0.5


# -- the policy --------------------------------------------------------------------------------------


def test_per_entrant_an_entrant_pushes_to_its_own_repository_only() -> None:
    scopes = asked(
        "repository:contest/alice:pull,push,delete",
        "repository:contest/mallory:pull,push",
        "repository:contest:pull,push",
        "repository:contest/alice/more:pull,push",
        "registry:catalog:*",
        "repository:other/alice:pull",
    )
    assert granted(PER_ENTRANT, "alice", scopes) == [Access("repository", "contest/alice", ("pull", "push"))]
    assert granted(PER_ENTRANT, "mallory", scopes) == [
        Access("repository", "contest/mallory", ("pull", "push"))
    ]
    assert granted(PER_ENTRANT, "bob", scopes) == []


def test_shared_every_entrant_pushes_to_the_shared_repository() -> None:
    scopes = asked("repository:contest:push,pull,delete", "repository:contest/alice:pull,push")
    for account in ("alice", "mallory"):
        assert granted(SHARED, account, scopes) == [Access("repository", "contest", ("push", "pull"))]


def test_the_judge_pulls_every_repository_of_the_contest_and_nothing_else() -> None:
    scopes = asked(
        "repository:contest/alice:pull,push",
        "repository:contest/mallory:pull",
        "repository:contest:pull,push,delete",
        "repository:contest/alice/x:pull",
        "repository:other:pull",
        "registry:catalog:*",
    )
    assert granted(PER_ENTRANT, JUDGE_ACCOUNT, scopes) == [
        Access("repository", "contest/alice", ("pull",)),
        Access("repository", "contest/mallory", ("pull",)),
        Access("repository", "contest", ("pull",)),
    ]
    # with a shared repository, the contest has that one repository
    assert granted(SHARED, JUDGE_ACCOUNT, scopes) == [Access("repository", "contest", ("pull",))]


def test_anonymous_gets_nothing() -> None:
    scopes = asked("repository:contest/alice:pull", "repository:contest:pull")
    assert granted(PER_ENTRANT, None, scopes) == granted(SHARED, None, scopes) == []


def test_scopes_on_one_resource_are_merged_and_the_class_is_kept() -> None:
    scopes = asked("repository:contest/alice:pull", "repository:contest/alice:push,pull")
    assert granted(PER_ENTRANT, "alice", scopes) == [Access("repository", "contest/alice", ("pull", "push"))]
    plugin = granted(PER_ENTRANT, "alice", asked("repository(plugin):contest/alice:push"))
    assert plugin == [Access("repository", "contest/alice", ("push",), "plugin")]
    assert plugin[0].to_json() == {
        "type": "repository",
        "name": "contest/alice",
        "actions": ["push"],
        "class": "plugin",
    }
    assert scope_list(plugin) == "repository(plugin):contest/alice:push"


def test_a_nested_contest_repository() -> None:
    contest = contest_of(Repositories.PER_ENTRANT, "golf/idbs")
    scopes = asked("repository:golf/idbs/alice:push,pull", "repository:golf/alice:push")
    assert granted(contest, "alice", scopes) == [Access("repository", "golf/idbs/alice", ("push", "pull"))]


# -- properties --------------------------------------------------------------------------------------

ACCOUNTS = st.sampled_from([None, JUDGE_ACCOUNT, "alice", "mallory", "contest", "a"])
NAMES = st.one_of(
    st.sampled_from(
        ["contest", "contest/alice", "contest/mallory", "contest/alice/x", "alice", "contest/a", "contest/"]
    ),
    st.from_regex(r"[a-z0-9]{1,4}(/[a-z0-9._-]{1,4}){0,3}", fullmatch=True),
    st.text(min_size=0, max_size=20),
)
ACTIONS = st.lists(st.sampled_from(["pull", "push", "delete", "*", "", "PULL", "x"]), max_size=4)
TYPES = st.sampled_from(["repository", "repository(plugin)", "registry", "Repository", "repo(", ""])
SCOPE_TEXTS = st.one_of(
    st.builds(lambda t, n, a: f"{t}:{n}:{','.join(a)}", TYPES, NAMES, ACTIONS),
    st.text(max_size=40),
)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from([Repositories.PER_ENTRANT, Repositories.SHARED]),
    ACCOUNTS,
    st.lists(st.lists(SCOPE_TEXTS, max_size=4).map(" ".join), max_size=4),
)
def test_never_more_than_asked_never_outside_the_contest(
    repositories: Repositories, account: str | None, values: list[str]
) -> None:
    contest = contest_of(repositories)
    scopes = parse_scopes(values)
    asked_actions: dict[tuple[str, str], set[str]] = {}
    for scope in scopes:
        asked_actions.setdefault((scope.type, scope.name), set()).update(scope.actions)
    result = granted(contest, account, scopes)
    for access in result:
        assert access.actions, "a resource with nothing granted is left out"
        assert set(access.actions) <= asked_actions[(access.type, access.name)]
        assert access.type == "repository"
        assert set(access.actions) <= {"pull", "push"}
        inside = access.name == contest.repository or (
            contest.per_entrant and contest.entrant_of_repository(access.name) is not None
        )
        assert inside
        if account == JUDGE_ACCOUNT:
            assert access.actions == ("pull",)
        elif contest.per_entrant:
            assert access.name == f"contest/{account}"
        else:
            assert access.name == "contest"
    if account is None:
        assert result == []
    # each resource appears once
    assert len({(a.type, a.resource_class, a.name) for a in result}) == len(result)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_or_is_ignored(text: str) -> None:
    scope = parse_scope(text)
    if scope is not None:
        assert ":" not in "".join(scope.actions) and " " not in scope.name
        assert parse_scope(str(scope)) == scope


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(
        r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*){0,3}", fullmatch=True
    ),
    st.lists(st.from_regex(r"[a-z]{1,6}", fullmatch=True), min_size=1, max_size=3, unique=True),
    st.sampled_from([None, "plugin"]),
)
def test_grammatical_scopes_round_trip(name: str, actions: list[str], resource_class: str | None) -> None:
    scope = Scope("repository", name, tuple(actions), resource_class)
    if len(name) <= 255:
        assert parse_scope(str(scope)) == scope


# -- the token ---------------------------------------------------------------------------------------


def test_the_token_is_an_es256_jwt_with_the_certificate_in_x5c() -> None:
    access = [Access("repository", "contest/alice", ("pull", "push"))]
    token = issue_token(KEY, CERT, subject="alice", audience="imagegolf-golf", access=access, now=NOW)
    header = jwt.get_unverified_header(token)
    certificate = x509.load_pem_x509_certificate(CERT.encode())
    assert header["typ"] == "JWT" and header["alg"] == "ES256"
    assert base64.b64decode(header["x5c"][0]) == certificate.public_bytes(serialization.Encoding.DER)
    claims = jwt.decode(
        token,
        public_key(certificate),
        algorithms=["ES256"],
        audience="imagegolf-golf",
        issuer=ISSUER,
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    issued = int(NOW.timestamp())
    assert claims["sub"] == "alice" and claims["aud"] == "imagegolf-golf"  # one string, as token.go wants
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (issued, issued, issued + TOKEN_TTL_S)
    assert claims["access"] == [{"type": "repository", "name": "contest/alice", "actions": ["pull", "push"]}]
    again = issue_token(KEY, CERT, subject="alice", audience="imagegolf-golf", access=access, now=NOW)
    assert jwt.decode(again, options={"verify_signature": False})["jti"] != claims["jti"]
    # a token signed by another key does not verify with this certificate
    other_key, _ = make_signing_key("someone else")
    forged = issue_token(other_key, CERT, subject="alice", audience="x", access=access, now=NOW)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, public_key(certificate), algorithms=["ES256"], options={"verify_aud": False})


def test_an_anonymous_token_grants_nothing() -> None:
    token = issue_token(KEY, CERT, subject="", audience="a", access=[], now=dt.datetime.now(dt.UTC))
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["access"] == [] and claims["sub"] == ""


def test_the_judge_password_is_stable_and_per_key() -> None:
    password = judge_password(KEY)
    assert password == judge_password(KEY) and len(password) == 64
    assert int(password, 16) >= 0
    assert judge_password(make_signing_key("another")[0]) != password


def test_judge_credentials_come_from_the_contest_s_key(tmp_path: Path) -> None:
    with open_database(str(tmp_path / "contest.db")) as db:
        contest = create_contest(
            db, name="golf", phrase="hello", repository="127.0.0.1:5000/contest", repositories="per-entrant"
        )
        account, password = judge_credentials(db, contest)
        assert account == JUDGE_ACCOUNT
        assert judge_credentials(db, contest) == (account, password)
        assert service_name(contest) == "imagegolf-golf"
        assert service_name(dataclasses.replace(contest, name="x")) == "imagegolf-x"
