"""Tiny ELF executables that print a message: values in, bytes out (no I/O here).

``build_program(message, platform, mode, profile)`` returns the file; ``platforms`` and
``supported_modes`` list what exists. One module per architecture (``x86_32``, ``x86_64``,
``arm64``, ``arm32``, ``riscv64``, …), each with its layouts documented byte by byte; ``layout``
declares the ELF structs once.
"""

from imagegolf.elf.program import MAX_MESSAGE, Mode, Profile, build_program, platforms, supported_modes

__all__ = ["MAX_MESSAGE", "Mode", "Profile", "build_program", "platforms", "supported_modes"]
