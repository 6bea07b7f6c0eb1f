"""The declared platform is checked against the ELF the image runs (docs/judge.md #5, §29)."""

from __future__ import annotations

import pytest

from imagegolf import elf
from imagegolf.errors import BadInputError
from imagegolf.judge.host import Host
from imagegolf.judge.platform_check import check_platform
from imagegolf.platform import (
    LINUX_386,
    LINUX_AMD64,
    LINUX_ARM64,
    LINUX_S390X,
    Platform,
)

X86 = Host("x86_64", frozenset({62, 3}))
MESSAGE = b"hello IDBS engineering\n"


def program(platform: Platform) -> bytes:
    return elf.build_program(MESSAGE, platform)


@pytest.mark.parametrize("platform", [LINUX_386, LINUX_AMD64])
def test_native_record_programs_match_their_platform(platform: Platform) -> None:
    # Their headers overlap: EI_CLASS and EI_DATA may hold code, which the kernel never reads.
    check_platform(platform, False, "/a", program(platform), X86)


@pytest.mark.parametrize("platform", [LINUX_ARM64, LINUX_S390X])
def test_foreign_programs_match_their_platform_when_asked(platform: Platform) -> None:
    check_platform(platform, True, "/a", program(platform), X86)


def test_a_foreign_platform_runs_only_when_asked() -> None:
    with pytest.raises(BadInputError, match=r"linux/arm64/v8, which this judge \(x86-64\) runs only through"):
        check_platform(LINUX_ARM64, False, "/a", program(LINUX_ARM64), X86)


@pytest.mark.parametrize(
    ("declared", "actual", "words"),
    [
        (LINUX_AMD64, LINUX_386, "says linux/amd64, but its command /a is an ELF for i386 (e_machine 3, not"),
        (LINUX_386, LINUX_AMD64, "is an ELF for x86-64 (e_machine 62, not 3)"),
        (LINUX_ARM64, LINUX_AMD64, "is an ELF for x86-64"),
    ],
)
def test_a_config_that_lies_about_the_machine_is_refused(
    declared: Platform, actual: Platform, words: str
) -> None:
    with pytest.raises(BadInputError, match=words.replace("(", r"\(").replace(")", r"\)")):
        check_platform(declared, True, "/a", program(actual), X86)


def test_a_foreign_program_must_have_the_class_qemu_wants() -> None:
    arm64 = bytearray(program(LINUX_ARM64))
    arm64[4] = 1  # ELFCLASS32: qemu-aarch64 refuses it
    with pytest.raises(BadInputError, match="EI_CLASS"):
        check_platform(LINUX_ARM64, True, "/a", bytes(arm64), X86)


def test_other_systems_and_unknown_architectures_are_refused() -> None:
    with pytest.raises(BadInputError, match="os 'windows'"):
        check_platform(Platform("windows", "amd64"), False, None, b"", X86)
    with pytest.raises(BadInputError, match="unknown architecture 'sparc'"):
        check_platform(Platform("linux", "sparc"), False, None, b"", X86)


def test_scripts_and_missing_commands_are_left_to_the_launch_diagnosis() -> None:
    check_platform(LINUX_AMD64, False, "/run.sh", b"#!/bin/sh\n", X86)
    check_platform(LINUX_AMD64, False, None, b"", X86)
