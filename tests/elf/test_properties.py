"""Property tests: random messages and lengths, every example executed."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.elf.execution import NORMAL_ENV, Runner

from imagegolf.elf import Mode, build_program
from imagegolf.platform import LINUX_AMD64, SUPPORTED, Platform

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Bytes with the awkward ones over-represented; lengths across the 255/256 layout boundary.
EMBED_MESSAGES = st.one_of(
    st.binary(min_size=1, max_size=300),
    st.lists(st.sampled_from(b"\0\n\r\t\xff\x80 aZ"), min_size=1, max_size=40).map(bytes),
    st.integers(min_value=240, max_value=270).map(lambda n: bytes(i % 251 for i in range(n))),
)
# argv cannot carry NUL; the message travels in JSON, so it is text.
ARGV_MESSAGES = st.text(
    alphabet=st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=300,
).map(str.encode)


@pytest.mark.parametrize("platform", SUPPORTED, ids=str)
def test_embed_prints_any_message(runner: Runner, platform: Platform) -> None:
    @SETTINGS
    @given(message=EMBED_MESSAGES, to_file=st.booleans())
    def check(message: bytes, to_file: bool) -> None:
        program = build_program(message, platform)
        overhead = len(program) - len(message)
        if platform != LINUX_AMD64 or len(message) >= 8:
            assert overhead == len(build_program(b"z" * len(message), platform)) - len(message)
        result = runner.run(program, platform, stdout_to_file=to_file)
        assert (result.returncode, result.stdout) == (0, message)

    check()


@pytest.mark.parametrize("platform", SUPPORTED, ids=str)
def test_argv_prints_any_argument(runner: Runner, platform: Platform) -> None:
    program = build_program(b"any", platform, Mode.ARGV)

    @SETTINGS
    @given(message=ARGV_MESSAGES, with_env=st.booleans())
    def check(message: bytes, with_env: bool) -> None:
        assert build_program(message, platform, Mode.ARGV) == program
        env = NORMAL_ENV if with_env else {}
        result = runner.run(program, platform, [message], env=env)
        assert (result.returncode, result.stdout) == (0, message)

    check()


@settings(max_examples=60, deadline=None)
@given(message=st.binary(min_size=1, max_size=2000), platform=st.sampled_from(SUPPORTED))
def test_same_input_same_bytes(message: bytes, platform: Platform) -> None:
    program = build_program(message, platform)
    assert program == build_program(bytes(message), platform)
    assert message in program
