"""Fixtures for the OCI tests: Go's archive/tar as the reference tar reader (tests/oci/gotar.py)."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator

import pytest

from tests.oci.gotar import GoTar, GoUnavailable

# About 15 s. `--tar-cases N` (declared in tests/conftest.py, so a bare `pytest` knows it) or
# bench/tar_differential.py hunt longer.
DEFAULT_TAR_CASES = 3000
SUMMARY = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def tar_cases(request: pytest.FixtureRequest) -> int:
    option = request.config.getoption("--tar-cases", default=None)
    return int(option or os.environ.get("IMAGEGOLF_TAR_CASES") or DEFAULT_TAR_CASES)


@pytest.fixture(scope="session")
def tar_seed() -> int:
    """The differential test's seed: random each run (and printed), or $IMAGEGOLF_TAR_SEED to replay."""
    return int(os.environ.get("IMAGEGOLF_TAR_SEED") or random.getrandbits(32))


@pytest.fixture(scope="session")
def go_reference() -> Iterator[GoTar | str]:
    """One gotar process for the whole session, or why there is none: the tests that need it then
    fail (never skip), since Go is a declared dependency that scripts/setup.sh installs."""
    try:
        reader = GoTar()
    except GoUnavailable as missing:
        yield str(missing)
        return
    with reader:
        yield reader


@pytest.fixture(scope="session")
def tar_summary(request: pytest.FixtureRequest) -> list[str]:
    """Lines for the terminal summary: what the differential runs drew and how each reader fared."""
    return request.config.stash.setdefault(SUMMARY, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    lines = config.stash.get(SUMMARY, [])
    if lines:
        terminalreporter.section("tar reader vs Go archive/tar")
        for line in lines:
            terminalreporter.write_line(line)
