"""Which tiny program to build: platform × mode × profile → the builder, with input checks.

Modes:
- ``embed``: the file holds the message and writes it (any bytes) to stdout, then exits 0.
- ``argv``: the file writes its argv[1] and exits 0; the message travels in the image's CMD,
  so it is only validated here (non-empty, no NUL, UTF-8).

Profiles: ``portable`` runs on any Linux ≥ 4.x for the arch (and under qemu-user for arm64);
``modern`` may rely on the loaders after the elf_load() rework (zero-fill faults ignored on
non-writable segments). No layout gains from that today: the i386 layouts reach the modern
figures of facts.md §3 (72 and 50 bytes) while staying portable, since their p_filesz ends
on a page boundary. So ``modern`` is accepted everywhere and builds the portable bytes; it
remains a distinct value so a modern-only layout can slot in without changing callers.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TypeVar

from imagegolf.elf import arm32, arm64, mips64le, ppc64le, riscv64, s390x, x86_32, x86_64
from imagegolf.errors import UsageError
from imagegolf.platform import ALL_PLATFORMS, Platform

_E = TypeVar("_E", bound=enum.StrEnum)
MAX_MESSAGE = 16 * 1024 * 1024  # every layout maps at least this much of its file


class Mode(enum.StrEnum):
    EMBED = "embed"
    ARGV = "argv"


class Profile(enum.StrEnum):
    PORTABLE = "portable"
    MODERN = "modern"


_EMBED: dict[str, Callable[[bytes], bytes]] = {
    "386": x86_32.embed,
    "amd64": x86_64.embed,
    "arm64": arm64.embed,
    "arm": arm32.build_embed,  # one Thumb layout for arm/v5, v6 and v7
    "riscv64": riscv64.build_embed,
    "ppc64le": ppc64le.build_embed,
    "s390x": s390x.build_embed,
    "mips64le": mips64le.build_embed,
}
_ARGV: dict[str, Callable[[], bytes]] = {
    "386": x86_32.argv,
    "amd64": x86_64.argv,
    "arm64": arm64.argv,
}


def platforms() -> tuple[Platform, ...]:
    """Every platform a program can be built for (embed mode), in hello-world's index order."""
    return tuple(p for p in ALL_PLATFORMS if p.architecture in _EMBED)


def supported_modes(platform: Platform) -> tuple[tuple[Mode, Profile], ...]:
    """The (mode, profile) pairs :func:`build_program` accepts for ``platform``."""
    arch = _arch(platform)
    modes = list(Mode) if arch in _ARGV else [Mode.EMBED]
    return tuple((mode, profile) for mode in modes for profile in Profile)


def build_program(
    message: bytes,
    platform: Platform,
    mode: Mode | str = Mode.EMBED,
    profile: Profile | str = Profile.PORTABLE,
) -> bytes:
    """The ELF executable for ``platform`` that prints ``message`` (embed) or its argv[1]."""
    mode = _choice(Mode, mode, "--mode")
    _choice(Profile, profile, "--profile")  # every profile builds the portable layout
    arch = _arch(platform)
    _check_message(message, mode)
    if mode is Mode.ARGV:
        if arch not in _ARGV:
            known = ", ".join(f"linux/{a}" for a in _ARGV)
            raise UsageError(
                f"--mode argv has no layout for {platform} yet", hint=f"use embed, or one of: {known}"
            )
        return _ARGV[arch]()
    return _EMBED[arch](bytes(message))


def _choice(kind: type[_E], value: _E | str, flag: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        names = ", ".join(member.value for member in kind)
        raise UsageError(f"{flag} {value!r} is not known", hint=f"use one of: {names}") from None


def _arch(platform: Platform) -> str:
    if platform.os != "linux" or platform.architecture not in _EMBED:
        known = ", ".join(f"linux/{arch}" for arch in _EMBED)
        raise UsageError(f"no tiny program for {platform}", hint=f"use one of: {known}")
    return platform.architecture


def _check_message(message: bytes, mode: Mode) -> None:
    if not isinstance(message, bytes | bytearray):
        raise UsageError(f"the message must be bytes, not {type(message).__name__}")
    if not message:
        raise UsageError("the message is empty", hint="give at least one character to print")
    if len(message) > MAX_MESSAGE:
        raise UsageError(
            f"the message has {len(message)} bytes", hint=f"keep it under {MAX_MESSAGE} bytes (16 MiB)"
        )
    if mode is Mode.ARGV:
        if b"\0" in message:
            raise UsageError(
                "the message contains a NUL byte, which argv cannot carry", hint="use --mode embed"
            )
        try:
            message.decode("utf-8")
        except UnicodeDecodeError as error:
            raise UsageError(
                f"the message is not UTF-8 (byte {error.start}); in argv mode it travels in JSON",
                hint="use --mode embed for arbitrary bytes",
            ) from None
