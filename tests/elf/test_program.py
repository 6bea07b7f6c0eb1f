"""build_program's contract: sizes (targets and pinned values), golden bytes, input checks."""

from __future__ import annotations

import hashlib

import pytest
from tests.elf.execution import param_id

from imagegolf import elf
from imagegolf.elf import MAX_MESSAGE, Mode, Profile, build_program, supported_modes
from imagegolf.errors import UsageError
from imagegolf.platform import LINUX_386, LINUX_AMD64, LINUX_ARM64, SUPPORTED, Platform

RECORD = b"Hi IDBS Engineering! RE\n"  # 24 bytes: the seed's record message
DEFAULT = b"hello IDBS engineering\n"  # 23 bytes: the CLI's default message

# The brief's targets for the 24-byte message (file bytes).
TARGETS = {
    (LINUX_386, Mode.EMBED, Profile.PORTABLE): 73,
    (LINUX_386, Mode.EMBED, Profile.MODERN): 72,
    (LINUX_386, Mode.ARGV, Profile.PORTABLE): 52,
    (LINUX_386, Mode.ARGV, Profile.MODERN): 50,
    (LINUX_AMD64, Mode.EMBED, Profile.PORTABLE): 96,
    (LINUX_AMD64, Mode.ARGV, Profile.PORTABLE): 80,
    (LINUX_ARM64, Mode.EMBED, Profile.PORTABLE): 136,
    (LINUX_ARM64, Mode.ARGV, Profile.PORTABLE): 160,
}

# What the layouts reach (golden: a change here is a reviewed change).
SIZES = {  # platform, mode -> (24-byte message, 23-byte message); every profile alike
    (LINUX_386, Mode.EMBED): (72, 71),
    (LINUX_386, Mode.ARGV): (50, 50),
    (LINUX_AMD64, Mode.EMBED): (96, 95),
    (LINUX_AMD64, Mode.ARGV): (80, 80),
    (LINUX_ARM64, Mode.EMBED): (136, 135),
    (LINUX_ARM64, Mode.ARGV): (132, 132),
}

# size = overhead + len(message), per length range.
OVERHEAD = {
    LINUX_386: {"short": 48, "long": 57},  # long: len ≥ 256
    LINUX_AMD64: {"short": 72, "long": 83},  # and never below 80 bytes (the phdr must fit)
    LINUX_ARM64: {"short": 112, "long": 116},  # long: len ≥ 65536 (LEN no longer fits mov)
}
LONG_FROM = {LINUX_386: 256, LINUX_AMD64: 256, LINUX_ARM64: 65536}

GOLDEN_SHA256 = {  # of the 24-byte message's programs
    (LINUX_386, Mode.EMBED): "3e418573ebb4a9a9ea2104874c1242f58a72b0031d375de9ce937999c5c0060a",
    (LINUX_386, Mode.ARGV): "4feee1e425f23ffbf0135fd64ed75ddf5c20dba6e8e3b89cbecde2b70a11bc66",
    (LINUX_AMD64, Mode.EMBED): "7f8fdb24e93d8412b7eb1d1584e3556c298de55251de0218c030f90a8312455b",
    (LINUX_AMD64, Mode.ARGV): "88203fcdf4e74dcc59bba9fddaad10ce352f209813067c1ae2983ab7e60470a6",
    (LINUX_ARM64, Mode.EMBED): "d812b758dbcf9d81d6ec41d20a024d107e42bf192911be08fa3bb5e729c5b7f8",
    (LINUX_ARM64, Mode.ARGV): "95d85097c1e578feca9e152fd56cb872ed783b65987e897c9cc6986851d81077",
}


def expected_size(platform: Platform, length: int) -> int:
    overhead = OVERHEAD[platform]["short" if length < LONG_FROM[platform] else "long"]
    minimum = 80 if platform == LINUX_AMD64 else 0
    return max(overhead + length, minimum)


@pytest.mark.parametrize(("platform", "mode", "profile"), list(TARGETS), ids=param_id)
def test_targets_are_met(platform: Platform, mode: Mode, profile: Profile) -> None:
    assert len(build_program(RECORD, platform, mode, profile)) <= TARGETS[platform, mode, profile]


@pytest.mark.parametrize(("platform", "mode"), list(SIZES), ids=param_id)
@pytest.mark.parametrize("profile", [Profile.PORTABLE, Profile.MODERN])  # the others: test_profiles.py
def test_sizes_are_pinned(platform: Platform, mode: Mode, profile: Profile) -> None:
    sizes = tuple(len(build_program(m, platform, mode, profile)) for m in (RECORD, DEFAULT))
    assert sizes == SIZES[platform, mode]


@pytest.mark.parametrize(("platform", "mode"), list(GOLDEN_SHA256), ids=param_id)
def test_golden_bytes(platform: Platform, mode: Mode) -> None:
    program = build_program(RECORD, platform, mode)
    assert program == build_program(RECORD, platform, mode)  # deterministic
    assert hashlib.sha256(program).hexdigest() == GOLDEN_SHA256[platform, mode]


@pytest.mark.parametrize("platform", SUPPORTED, ids=str)
def test_overhead_is_constant_up_to_255_bytes(platform: Platform) -> None:
    for length in range(1, 256):
        size = len(build_program(b"x" * length, platform))
        assert size == expected_size(platform, length), length
        if platform != LINUX_AMD64 or length >= 8:
            assert size - length == OVERHEAD[platform]["short"]


@pytest.mark.parametrize("platform", SUPPORTED, ids=str)
@pytest.mark.parametrize("length", [256, 1000, 4096, 65536, 1 << 20])
def test_long_messages_cost_a_constant_extra(platform: Platform, length: int) -> None:
    assert len(build_program(b"y" * length, platform)) == expected_size(platform, length)


@pytest.mark.parametrize("platform", SUPPORTED, ids=str)
def test_modern_builds_the_portable_bytes(platform: Platform) -> None:
    for mode in Mode:
        assert build_program(RECORD, platform, mode, Profile.MODERN) == build_program(
            RECORD, platform, mode, Profile.PORTABLE
        )


@pytest.mark.parametrize("platform", SUPPORTED, ids=str)
def test_argv_program_does_not_depend_on_the_message(platform: Platform) -> None:
    assert build_program(b"a", platform, Mode.ARGV) == build_program(RECORD, platform, Mode.ARGV)


@pytest.mark.parametrize("platform", SUPPORTED, ids=str)
def test_supported_modes_lists_every_pair(platform: Platform) -> None:
    pairs = supported_modes(platform)
    gvisor = set() if platform == LINUX_386 else {Profile.GVISOR}  # gVisor runs no i386
    every = set(Profile) - {Profile.GVISOR} | gvisor
    assert set(pairs) == {(mode, profile) for mode in Mode for profile in every}
    for mode, profile in pairs:
        assert build_program(RECORD, platform, mode, profile)


def test_modes_and_profiles_accept_their_strings() -> None:
    assert build_program(RECORD, LINUX_386, "argv", "modern") == build_program(
        RECORD, LINUX_386, Mode.ARGV, Profile.MODERN
    )
    assert elf.Mode("embed") is Mode.EMBED


@pytest.mark.parametrize("mode", list(Mode))
def test_empty_message_is_a_usage_error(mode: Mode) -> None:
    with pytest.raises(UsageError, match="empty"):
        build_program(b"", LINUX_386, mode)


def test_nul_in_argv_message_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="NUL") as raised:
        build_program(b"a\0b", LINUX_AMD64, Mode.ARGV)
    assert "embed" in str(raised.value)
    assert build_program(b"a\0b", LINUX_AMD64, Mode.EMBED)  # embed carries any byte


def test_argv_message_must_be_utf8() -> None:
    with pytest.raises(UsageError, match="UTF-8"):
        build_program(b"caf\xe9", LINUX_ARM64, Mode.ARGV)


def test_message_must_be_bytes() -> None:
    with pytest.raises(UsageError, match="bytes"):
        build_program("hello", LINUX_386)  # type: ignore[arg-type]


def test_message_size_is_capped() -> None:
    with pytest.raises(UsageError, match="16 MiB"):
        build_program(bytes(MAX_MESSAGE + 1), LINUX_386)


@pytest.mark.parametrize(("setting", "kwargs"), [("mode", {"mode": "stdin"}), ("profile", {"profile": "x"})])
def test_unknown_mode_or_profile_names_what_exists(setting: str, kwargs: dict[str, str]) -> None:
    with pytest.raises(UsageError, match=f"^{setting} ") as raised:
        build_program(RECORD, LINUX_386, **kwargs)
    assert "embed" in str(raised.value) or "portable" in str(raised.value)
    assert "--" not in str(raised.value)  # the core names the setting; the CLI may add its flag


def test_unknown_platform_names_what_exists() -> None:
    with pytest.raises(UsageError, match="sparc") as raised:
        build_program(RECORD, Platform("linux", "sparc"))
    assert "linux/386" in str(raised.value)
    with pytest.raises(UsageError, match="argv has no layout for linux/riscv64"):
        build_program(RECORD, Platform("linux", "riscv64"), Mode.ARGV)
    assert {mode for mode, _ in supported_modes(Platform("linux", "riscv64"))} == {Mode.EMBED}
    with pytest.raises(UsageError):
        supported_modes(Platform("windows", "amd64"))
