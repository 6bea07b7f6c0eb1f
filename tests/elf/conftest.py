"""Fixtures for the elf tests: one runner per session (hypothesis calls it many times)."""

from __future__ import annotations

import pytest
from tests.elf.execution import Runner


@pytest.fixture(scope="session")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    return Runner(tmp_path_factory.mktemp("elf-programs"))
