"""Every contest test that touches a database runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from imagegolf.db import Database, open_database
from imagegolf.registry import RegistryClient, open_registry
from tests.registry_services import DistributionRegistry


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "contest.db")
    server = request.getfixturevalue("postgres")
    return str(server.new_database())


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    with open_database(db_url, retry_s=10.0) as database:
        yield database


@pytest.fixture
def client(registry_open: DistributionRegistry) -> Iterator[RegistryClient]:
    """A registry client on the tests' open registry (docker-registry on 127.0.0.1)."""
    with open_registry(registry_open.host) as opened:
        yield opened
