"""Web tests: a fresh contest database per test (SQLite, or PostgreSQL where asked) and an app on it."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagegolf.contest import Contest
from imagegolf.db import Database, open_database
from imagegolf.web import create_app
from tests.db_services import Postgres
from tests.web import seed
from tests.web.held_registry import SAMPLE_DIGEST, HeldRegistry

with warnings.catch_warnings():  # starlette 1.x warns that its TestClient will move to httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ADMIN_TOKEN = "admin-token-0123456789abcdef"
HOOK_TOKEN = "hook-token-0123456789abcdef"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with open_database(str(tmp_path / "contest.db"), retry_s=5.0) as database:
        yield database


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The same test on SQLite and on a real PostgreSQL server."""
    if request.param == "sqlite":
        url = str(tmp_path / "contest.db")
    else:
        server: Postgres = request.getfixturevalue("postgres")
        url = server.new_database()
    with open_database(url, retry_s=5.0) as database:
        yield database


@pytest.fixture
def contest(db: Database) -> Contest:
    return seed.make_contest(db)


def client_for(db: Database, registry: HeldRegistry | None = None, **tokens: str | None) -> TestClient:
    """A test client of the app; the hook asks ``registry`` (default: one holding contest:alice at
    the sample notification's digest) before it records a notification."""
    held = registry if registry is not None else HeldRegistry({("contest", "alice"): SAMPLE_DIGEST})
    return TestClient(create_app(db, None, registry=held, **tokens), raise_server_exceptions=False)  # type: ignore[arg-type]


@pytest.fixture
def client(db: Database, contest: Contest) -> Iterator[TestClient]:
    with client_for(db, admin_token=ADMIN_TOKEN) as test_client:
        yield test_client


@pytest.fixture
def field(db: Database, contest: Contest) -> dict[str, int]:
    """A small contest: a tie at 73 bytes (alice first), a copy of alice's image by mallory, a
    record ladder (bob 5000 → alice 73), a wrong output by carol, and dave still queued."""
    ids = {
        "bob_big": seed.push(db, contest, "bob", "bob-v1", minutes=1),
        "alice": seed.push(db, contest, "alice", "alice-v1", minutes=2),
        "bob_tie": seed.push(db, contest, "bob", "bob-v2", minutes=3),
        "mallory": seed.push(db, contest, "mallory", "alice-v1", minutes=4),
        "carol": seed.push(db, contest, "carol", "carol-v1", minutes=5),
        "dave": seed.push(db, contest, "dave", "dave-v1", minutes=6),
    }
    seed.judge(db, contest, ids["bob_big"], size=5000)
    seed.judge(db, contest, ids["alice"], size=73)
    seed.judge(db, contest, ids["bob_tie"], size=73)
    seed.judge(db, contest, ids["mallory"], size=73)
    seed.judge(
        db,
        contest,
        ids["carol"],
        "WRONG_OUTPUT",
        80,
        stdout="hello world\n",
        reason="stdout lacks the phrase",
    )
    return ids
