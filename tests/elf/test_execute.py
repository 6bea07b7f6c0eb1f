"""Every generated program is executed: stdout must be exactly the message, the status 0 (or, for
the any-exit profile's layouts, the message length mod 256: reliance.NonZeroExit)."""

from __future__ import annotations

import pytest
from tests.elf.execution import NORMAL_ENV, Runner, param_id

from imagegolf.elf import Mode, Profile, build_program, plan, supported_modes
from imagegolf.elf.reliance import NonZeroExit
from imagegolf.platform import LINUX_AMD64, SUPPORTED, Platform

RECORD = b"Hi IDBS Engineering! RE\n"
DEFAULT = b"hello IDBS engineering\n"
TRICKY = b"\0line one\nline two\r\n\xff\xfe caf\xc3\xa9 \xe2\x82\xac\0"  # NUL, CRLF, UTF-8, junk
UTF8 = "h\u00e9llo w\u00f6rld \u20ac \U0001f600 \u65e5\u672c".encode()


def pairs(mode: Mode) -> list[tuple[Platform, Profile]]:
    return [(p, profile) for p in SUPPORTED for m, profile in supported_modes(p) if m is mode]


def expected_status(message: bytes, platform: Platform, mode: Mode, profile: Profile) -> int:
    layout = plan(message, platform, mode, profile).layout
    return len(message) % 256 if any(isinstance(r, NonZeroExit) for r in layout.relies_on) else 0


@pytest.mark.parametrize(("platform", "profile"), pairs(Mode.EMBED), ids=param_id)
@pytest.mark.parametrize("message", [RECORD, DEFAULT, TRICKY, b"!"], ids=param_id)
@pytest.mark.parametrize("stdout_to_file", [False, True], ids=["pipe", "file"])
def test_embed_prints_the_message(
    runner: Runner, platform: Platform, profile: Profile, message: bytes, stdout_to_file: bool
) -> None:
    program = build_program(message, platform, Mode.EMBED, profile)
    result = runner.run(program, platform, stdout_to_file=stdout_to_file, stdin="devnull")
    status = expected_status(message, platform, Mode.EMBED, profile)
    assert (result.returncode, result.stdout) == (status, message)


@pytest.mark.parametrize(("platform", "profile"), pairs(Mode.ARGV), ids=param_id)
@pytest.mark.parametrize("message", [RECORD, DEFAULT, UTF8, b"x"], ids=param_id)
@pytest.mark.parametrize("stdout_to_file", [False, True], ids=["pipe", "file"])
@pytest.mark.parametrize("env", [{}, NORMAL_ENV], ids=["no-env", "env"])
def test_argv_prints_argv1(
    runner: Runner,
    platform: Platform,
    profile: Profile,
    message: bytes,
    stdout_to_file: bool,
    env: dict[str, str],
) -> None:
    program = build_program(message, platform, Mode.ARGV, profile)
    result = runner.run(
        program, platform, [message], env=env, stdout_to_file=stdout_to_file, stdin="devnull"
    )
    status = expected_status(message, platform, Mode.ARGV, profile)
    assert (result.returncode, result.stdout) == (status, message)


@pytest.mark.parametrize("platform", SUPPORTED, ids=str)
def test_argv_ignores_further_arguments(runner: Runner, platform: Platform) -> None:
    program = build_program(RECORD, platform, Mode.ARGV)
    result = runner.run(program, platform, [RECORD, b"second", b"third"], env=NORMAL_ENV)
    assert (result.returncode, result.stdout) == (0, RECORD)


@pytest.mark.parametrize("platform", SUPPORTED, ids=str)
@pytest.mark.parametrize("length", [255, 256, 1000, 4096, 65536])
@pytest.mark.parametrize("stdout_to_file", [False, True], ids=["pipe", "file"])
def test_long_messages(runner: Runner, platform: Platform, length: int, stdout_to_file: bool) -> None:
    message = bytes((i * 7 + 3) % 256 for i in range(length))
    result = runner.run(build_program(message, platform), platform, stdout_to_file=stdout_to_file)
    assert (result.returncode, len(result.stdout)) == (0, length)
    assert result.stdout == message


@pytest.mark.parametrize("platform", SUPPORTED, ids=str)
@pytest.mark.parametrize("length", [1000, 65536])
def test_long_argv(runner: Runner, platform: Platform, length: int) -> None:
    message = (b"0123456789abcdef" * (length // 16 + 1))[:length]
    program = build_program(message, platform, Mode.ARGV)
    result = runner.run(program, platform, [message], env=NORMAL_ENV)
    assert (result.returncode, result.stdout) == (0, message)


@pytest.mark.parametrize("length", range(1, 10))
def test_amd64_messages_shorter_than_the_program_header(runner: Runner, length: int) -> None:
    message = bytes(range(65, 65 + length))
    program = build_program(message, LINUX_AMD64)
    assert len(program) == max(80, 72 + length)  # padded: the phdr must lie inside the file
    result = runner.run(program, LINUX_AMD64)
    assert (result.returncode, result.stdout) == (0, message)
