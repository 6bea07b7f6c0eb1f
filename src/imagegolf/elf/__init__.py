"""Tiny ELF executables that print a message: values in, bytes out (no I/O here).

``build_program(message, platform, mode, profile)`` returns the file; ``plan`` also says which
layout it is and what that layout relies on; ``platforms`` and ``supported_modes`` list what
exists. One module per architecture (``x86_32``, ``x86_64``, ``x86_64_dyn``, ``arm64``,
``arm32``, ``riscv64``, …), each with its layouts documented byte by byte; ``catalog`` lists
the layouts and the profiles that choose among them, ``reliance`` the risks they take;
``identification`` tells which layout drew a file; ``spec`` declares the ELF format once
(constants, machines, structs) and ``layout`` is the canvas the layouts draw on.
"""

from typing import TYPE_CHECKING

from imagegolf import lazy
from imagegolf.elf.catalog import Choice, Layout, Mode, Profile
from imagegolf.elf.program import MAX_MESSAGE, build_program, plan, platforms, supported_modes
from imagegolf.elf.reliance import Reliance

# Identifying a file (explain) loads its module on first use (imagegolf/lazy.py): a build never does.
if TYPE_CHECKING:
    from imagegolf.elf.identification import Identified, identify

__getattr__ = lazy.exports(
    __name__, {"Identified": "imagegolf.elf.identification", "identify": "imagegolf.elf.identification"}
)

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
