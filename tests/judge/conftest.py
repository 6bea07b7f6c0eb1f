"""Judge tests: a fresh podman store per test that compares sizes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services import Podman


@pytest.fixture
def fresh_podman() -> Iterator[Podman]:
    cli = Podman()
    try:
        yield cli
    finally:
        cli.stop()
