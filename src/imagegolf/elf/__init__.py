"""Tiny ELF executables that print a message: values in, bytes out (no I/O here).

``build_program(message, platform, mode, profile)`` returns the file; ``plan`` also says which
layout it is and what that layout relies on; ``platforms`` and ``supported_modes`` list what
exists. One module per architecture (``x86_32``, ``x86_64``, ``x86_64_dyn``, ``arm64``,
``arm32``, ``riscv64``, …), each with its layouts documented byte by byte; ``catalog`` lists
the layouts and the profiles that choose among them, ``reliance`` the risks they take;
``spec`` declares the ELF format once (constants, machines, structs) and ``layout`` is the canvas
the layouts draw on.
"""

from imagegolf.elf.catalog import Choice, Identified, Layout, Mode, Profile, identify
from imagegolf.elf.program import MAX_MESSAGE, build_program, plan, platforms, supported_modes
from imagegolf.elf.reliance import Reliance

__all__ = [
    "MAX_MESSAGE",
    "Choice",
    "Identified",
    "Layout",
    "Mode",
    "Profile",
    "Reliance",
    "build_program",
    "identify",
    "plan",
    "platforms",
    "supported_modes",
]
