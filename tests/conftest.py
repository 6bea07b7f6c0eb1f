"""Session-wide real services; each is started once, on a private socket, and stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from imagegolf.engine import Engine
from imagegolf.engine.discovery import connect, private_podman
from tests import browser_services, db_services
from tests.db_services import Postgres
from tests.registry_services import DistributionRegistry, started
from tests.services import Containerd, Dockerd, Podman


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--tar-cases",
        type=int,
        default=None,
        metavar="N",
        help="archives the tar differential test draws ($IMAGEGOLF_TAR_CASES, else 3000)",
    )


@pytest.fixture(scope="session")
def dockerd() -> Iterator[Dockerd]:
    service = Dockerd().start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def containerd() -> Iterator[Containerd]:
    service = Containerd().start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def podman() -> Iterator[Podman]:
    cli = Podman()
    try:
        yield cli
    finally:
        cli.stop()


@pytest.fixture
def fresh_podman() -> Iterator[Podman]:
    """The podman CLI on a store made for this test alone (sizes compare in an empty store)."""
    cli = Podman()
    try:
        yield cli
    finally:
        cli.stop()


@pytest.fixture(scope="session")
def podman_engine() -> Iterator[Engine]:
    """podman's Docker-compatible service, started by imagegolf's own engine discovery on a store,
    locks and temp files of its own (engine/podman_service.py): no other podman on the host can
    disturb it."""
    with private_podman() as engine:
        yield engine


@pytest.fixture(scope="session")
def docker_engine(dockerd: Dockerd) -> Iterator[Engine]:
    with connect({"DOCKER_HOST": dockerd.url}) as engine:
        yield engine


@pytest.fixture(scope="session", params=["podman", "docker"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Every engine test runs on both engines through the same code path."""
    name = "podman_engine" if request.param == "podman" else "docker_engine"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


# -- Debian's docker-registry on 127.0.0.1 in four set-ups (tests/registry_services.py) --

REGISTRY_KINDS = ("open", "basic", "tls", "token")


@pytest.fixture(scope="session")
def registry_open() -> Iterator[DistributionRegistry]:
    yield from started("open")


@pytest.fixture(scope="session")
def registry_basic() -> Iterator[DistributionRegistry]:
    yield from started("basic")


@pytest.fixture(scope="session")
def registry_tls() -> Iterator[DistributionRegistry]:
    yield from started("tls")


@pytest.fixture(scope="session")
def registry_token() -> Iterator[DistributionRegistry]:
    yield from started("token")


@pytest.fixture(params=REGISTRY_KINDS)
def any_registry(request: pytest.FixtureRequest) -> DistributionRegistry:
    """Each test using it runs once per set-up."""
    return request.getfixturevalue(f"registry_{request.param}")  # type: ignore[no-any-return]


# -- PostgreSQL and a browser (tests/db_services.py, tests/browser_services.py) --


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """Debian's PostgreSQL on 127.0.0.1 (a free port), fsync off; ``new_database()`` per test."""
    with db_services.started() as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright's sync API; offline but for loopback."""
    with browser_services.started() as launched:
        yield launched


@pytest.fixture
def browser_page(browser: Browser) -> Iterator[Page]:
    """A fresh page in a fresh context (its own cookies and storage), closed after the test."""
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()
