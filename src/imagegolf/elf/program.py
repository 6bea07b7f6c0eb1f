"""Which tiny program to build: platform × mode × profile → a layout of catalog.py, with input checks.

Modes:
- ``embed``: the file holds the message and writes it (any bytes) to stdout, then exits 0.
- ``argv``: the file writes its argv[1] and exits 0; the message travels in the image's CMD,
  so it is only validated here (non-empty, no NUL, UTF-8).

Profiles (catalog.py): ``portable`` (default), ``record``, ``any-exit``, ``gvisor``; ``modern``
is an older name for the portable bytes. :func:`plan` returns the chosen layout with what it
relies on (reliance.py); :func:`build_program` just the bytes.
"""

from __future__ import annotations

import enum
from typing import TypeVar

from imagegolf.elf.catalog import PROFILES, Choice, Mode, Profile, candidates, choose, layout
from imagegolf.errors import UsageError
from imagegolf.platform import ALL_PLATFORMS, Platform

_E = TypeVar("_E", bound=enum.StrEnum)
MAX_MESSAGE = 16 * 1024 * 1024  # every layout maps at least this much of its file
_ARCHITECTURES = tuple(dict.fromkeys(layout(name).architecture for name in PROFILES[Profile.PORTABLE]))


def platforms() -> tuple[Platform, ...]:
    """Every platform a program can be built for (embed mode), in hello-world's index order."""
    return tuple(p for p in ALL_PLATFORMS if p.architecture in _ARCHITECTURES)


def supported_modes(platform: Platform) -> tuple[tuple[Mode, Profile], ...]:
    """The (mode, profile) pairs :func:`build_program` accepts for ``platform``."""
    arch = _arch(platform)
    return tuple(
        (mode, profile) for mode in Mode for profile in Profile if candidates(arch, mode, profile)
    )


def build_program(
    message: bytes,
    platform: Platform,
    mode: Mode | str = Mode.EMBED,
    profile: Profile | str = Profile.PORTABLE,
) -> bytes:
    """The ELF executable for ``platform`` that prints ``message`` (embed) or its argv[1]."""
    return plan(message, platform, mode, profile).program


def plan(
    message: bytes,
    platform: Platform,
    mode: Mode | str = Mode.EMBED,
    profile: Profile | str = Profile.PORTABLE,
) -> Choice:
    """The layout the profile chooses for ``message``, its bytes, and the layouts passed over."""
    mode = _choice(Mode, mode, "mode")
    profile = _choice(Profile, profile, "profile")
    arch = _arch(platform)
    _check_message(message, mode)
    chosen = choose(bytes(message), arch, mode, profile)
    if chosen is not None:
        return chosen
    if not any(candidates(arch, mode, p) for p in Profile):
        known = ", ".join(f"linux/{a}" for a in _ARCHITECTURES if candidates(a, mode, Profile.PORTABLE))
        raise UsageError(
            f"mode {mode} has no layout for {platform} yet", hint=f"use embed, or one of: {known}"
        )
    where = [a for a in _ARCHITECTURES if candidates(a, mode, profile)]
    if not where:
        raise UsageError(f"profile {profile} has no {mode} layout", hint="use another profile")
    if not candidates(arch, mode, profile):
        names = ", ".join(f"linux/{a}" for a in where)
        why = "; gVisor runs amd64 and arm64 only" if profile is Profile.GVISOR else ""
        raise UsageError(f"profile {profile} has no layout for {platform}", hint=f"it covers {names}{why}")
    raise UsageError(  # every candidate's message condition broke, and no fallback was listed
        f"no {profile} {mode} layout for {platform} takes a {len(message)}-byte message",
        hint="use the portable profile",
    )


def _choice(kind: type[_E], value: _E | str, setting: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        names = ", ".join(member.value for member in kind)
        raise UsageError(f"{setting} {value!r} is not known", hint=f"use one of: {names}") from None


def _arch(platform: Platform) -> str:
    if platform.os != "linux" or platform.architecture not in _ARCHITECTURES:
        known = ", ".join(f"linux/{arch}" for arch in _ARCHITECTURES)
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
                "the message contains a NUL byte, which argv cannot carry", hint="use the embed mode"
            )
        try:
            message.decode("utf-8")
        except UnicodeDecodeError as error:
            raise UsageError(
                f"the message is not UTF-8 (byte {error.start}); in argv mode it travels in JSON",
                hint="use the embed mode for arbitrary bytes",
            ) from None
