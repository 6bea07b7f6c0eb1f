"""The platforms this machine runs natively, in the order ``docker pull`` prefers them: what is
taken from an index when no platform is asked for (the judge's host model builds on it)."""

from __future__ import annotations

import os

from imagegolf.platform import ARCHES, UNAME_TO_OCI, Platform, Wanted

# e_machine values the kernel runs without emulation, by `uname -m` (ia32 through compat mode).
NATIVE_MACHINES = {"x86_64": frozenset({62, 3}), "aarch64": frozenset({183}), "i686": frozenset({3})}


def native_platforms(uname: str, native: frozenset[int]) -> tuple[Platform, ...]:
    """The platforms whose executables run natively (e_machine in ``native``), this machine's own
    first (x86-64: linux/amd64, then linux/386 through ia32)."""
    own = UNAME_TO_OCI.get(uname)
    ordered = [a for a in ARCHES.values() if a.elf_machine in native]
    ordered.sort(key=lambda arch: arch.oci != own)
    return tuple(Platform.parse(arch.oci) for arch in ordered)


def host_platforms() -> tuple[Platform, ...]:
    uname = os.uname().machine  # what platform.machine() returns on Linux, without importing it
    return native_platforms(uname, NATIVE_MACHINES.get(uname, frozenset()))


def host_wanted() -> Wanted:
    """No platform asked: this host's, used only to choose from an index."""
    return Wanted(host_platforms())
