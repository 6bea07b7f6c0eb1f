"""Each rung built with the real toolchains, run in the real engines (podman and dockerd)."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

from imagegolf import ladder
from imagegolf.engine import Engine
from tests.ladder.helpers import LOADER, MESSAGE

pytestmark = pytest.mark.engine

FAST = ["busybox-echo", "c-glibc-static", "c-musl-static", "asm-elf64", "asm-elf32-ld",
        "teensy", "teensy-modern", "teensy-argv"]  # fmt: skip
SLOW = ["distro-echo", "go", "go-stripped"]
UPX = ["go-upx", "c-glibc-upx"]


@pytest.fixture(scope="module")
def built() -> Callable[[str], ladder.RungImage]:
    """Each rung is built once for both engines."""
    cache: dict[str, ladder.RungImage] = {}

    def build(rung: str) -> ladder.RungImage:
        if rung not in cache:
            cache[rung] = ladder.build_rung(rung, MESSAGE)
        return cache[rung]

    return build


def _check(engine: Engine, built: Callable[[str], ladder.RungImage], rung: str) -> tuple[str, str]:
    return ladder.engine_check(engine, MESSAGE)(built(rung).image)


@pytest.mark.parametrize("rung", FAST)
def test_rung_prints_the_message(engine: Engine, built: Callable[[str], ladder.RungImage], rung: str) -> None:
    verdict, reason = _check(engine, built, rung)
    assert verdict == "ACCEPTED", reason


@pytest.mark.slow
@pytest.mark.parametrize("rung", SLOW)
def test_slow_rung_prints_the_message(
    engine: Engine, built: Callable[[str], ladder.RungImage], rung: str
) -> None:
    verdict, reason = _check(engine, built, rung)
    assert verdict == "ACCEPTED", reason


@pytest.mark.slow
@pytest.mark.parametrize("rung", UPX)
def test_upx_rung_prints_the_message_or_is_skipped_without_upx(
    engine: Engine, built: Callable[[str], ladder.RungImage], rung: str
) -> None:
    if shutil.which("upx") is None:  # Debian 12 has upx-ucl only in bookworm-backports
        result = ladder.run_ladder(MESSAGE, [ladder.strategy(rung)], check=None)[0]
        assert result.verdict == ladder.SKIPPED and "bookworm-backports upx-ucl" in result.reason
        return
    verdict, reason = _check(engine, built, rung)
    assert verdict == "ACCEPTED", reason


def test_host_echo_fails_to_start_naming_the_missing_loader(
    engine: Engine, built: Callable[[str], ladder.RungImage]
) -> None:
    verdict, reason = _check(engine, built, "host-echo")
    assert verdict == ladder.START_FAILED, reason
    assert f"its program interpreter {LOADER} is not in the image" in reason


def test_the_ladder_walks_with_the_engine_check(engine: Engine) -> None:
    rungs = ladder.select(["host-echo", "asm-elf32-ld", "teensy-argv"])
    results = ladder.run_ladder(MESSAGE, rungs, check=ladder.engine_check(engine, MESSAGE))
    assert [r.verdict for r in results] == ["START_FAILED", "ACCEPTED", "ACCEPTED"]
    assert all(r.as_expected for r in results)


def test_a_wrong_message_is_wrong_output(engine: Engine, built: Callable[[str], ladder.RungImage]) -> None:
    verdict, reason = ladder.engine_check(engine, b"something else\n")(built("asm-elf32-ld").image)
    assert verdict == "WRONG_OUTPUT", reason
