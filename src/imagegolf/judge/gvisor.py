"""What gVisor's ELF loader refuses, read from the file's bytes (nothing is executed).

Under ``--runtime runsc`` the program is loaded by gVisor's own kernel, not by Linux:
pkg/sentry/loader/elf.go, here at ``release-20240729.0`` (the runsc Debian 12 installs from
bookworm-backports; the rules read the same at gVisor's master of 2026-08, 3c5eee17). Linux's
loader picks its binfmt by ``e_machine`` and reads the program headers, ignoring most of the rest;
gVisor's checks the identification bytes, reads the whole 64-byte header and takes 56-byte
program headers only. A hand-made ELF that keeps code in those bytes, or ends inside the header,
runs under runc and fails under runsc with ``failed to load /a: exec format error``. Each rule
below is one check of ``parseHeader`` (elf.go:103-231), ``loadInitialELF`` (:577-605) or
``loadParsedELF`` (:402-479), in the order gVisor makes them; the first one broken is the reason.
"""

from __future__ import annotations

import struct

from imagegolf.elf.spec import ELFCLASS64, ELFDATA2LSB, EV_CURRENT, FileType, Machine, SegmentType
from imagegolf.judge.host import MACHINE_NAMES

SOURCE = "gVisor pkg/sentry/loader/elf.go"
EI_NIDENT = 16
EHDR64_SIZE = 64
PHDR64_SIZE = 56
MAX_PHDR_TABLE = 4096  # maxTotalPhdrSize: one page
EM_386, EM_X86_64, EM_AARCH64 = Machine.EM_386, Machine.EM_X86_64, Machine.EM_AARCH64
ET_EXEC, ET_DYN = FileType.ET_EXEC, FileType.ET_DYN
PT_LOAD = SegmentType.PT_LOAD
# The machine gVisor's kernel runs on each host architecture (`uname -m`): arch.Host, no emulation.
HOST_MACHINE = {"x86_64": EM_X86_64, "aarch64": EM_AARCH64}


def refusal(path: str, head: bytes, size: int, host_uname: str) -> str | None:
    """Why gVisor would not load the ELF file at ``path`` (its first bytes ``head``, ``size`` bytes in
    all), as a sentence naming the rule; None when its loader takes it (as far as ``head`` shows)."""
    rule = _broken_rule(head, size, host_uname)
    if rule is None:
        return None
    return f"the command {path} is an ELF that gVisor's loader refuses (exec format error): {rule}"


def _broken_rule(head: bytes, size: int, host_uname: str) -> str | None:
    if size < EI_NIDENT:
        return (
            f"it is {size} bytes, and gVisor reads all 16 identification bytes (e_ident) ({SOURCE}:106-115)"
        )
    machine = struct.unpack_from("<H", head, 18)[0] if size >= 20 else None
    if machine == EM_386:
        return (
            "it is a 32-bit x86 (i386) program, and gVisor runs no 32-bit x86: its loader takes only "
            f"64-bit ELF files for x86-64 or AArch64 ({SOURCE}:123-163)"
        )
    ident_class, ident_data, ident_version = head[4], head[5], head[6]
    if ident_class != ELFCLASS64:
        return (
            f"e_ident[EI_CLASS] is {ident_class:#04x}, not 2 (ELFCLASS64): gVisor loads only 64-bit ELF "
            f"files and checks this byte, which Linux never reads ({SOURCE}:124)"
        )
    if ident_data != ELFDATA2LSB:
        return (
            f"e_ident[EI_DATA] is {ident_data:#04x}, not 1 (ELFDATA2LSB): gVisor loads only little-endian "
            f"ELF files and checks this byte, which Linux never reads ({SOURCE}:128)"
        )
    if ident_version != EV_CURRENT:
        return (
            f"e_ident[EI_VERSION] is {ident_version:#04x}, not 1 (EV_CURRENT): gVisor checks this byte, "
            f"which Linux never reads ({SOURCE}:133)"
        )
    if size < EHDR64_SIZE:
        return (
            f"it is {size} bytes, and gVisor reads the whole 64-byte ELF64 header, so the file may not "
            f"end inside it ({SOURCE}:141-150)"
        )
    (e_type, e_machine, _version, _entry, e_phoff, _shoff, _flags, _ehsize, e_phentsize, e_phnum) = (
        struct.unpack_from("<HHIQQQIHHH", head, 16)
    )
    if e_machine not in (EM_X86_64, EM_AARCH64):
        name = MACHINE_NAMES.get(e_machine, "an unknown machine")
        return (
            f"e_machine is {e_machine} ({name}): gVisor runs x86-64 and AArch64 programs only "
            f"({SOURCE}:155-163)"
        )
    if e_type not in (ET_EXEC, ET_DYN):
        return f"e_type is {e_type}: gVisor loads ET_EXEC (2) and ET_DYN (3) only ({SOURCE}:166-175)"
    if e_phentsize != PHDR64_SIZE:
        return (
            f"e_phentsize is {e_phentsize}, not 56: gVisor takes 56-byte ELF64 program headers only "
            f"({SOURCE}:177)"
        )
    if e_phnum == 0 or e_phnum * PHDR64_SIZE > MAX_PHDR_TABLE:
        return f"e_phnum is {e_phnum}: gVisor needs 1 to 73 program headers ({SOURCE}:181-189)"
    table_end = e_phoff + e_phnum * PHDR64_SIZE
    if e_phoff >= 1 << 63 or table_end >= 1 << 63:
        return f"e_phoff is {e_phoff:#x}, which gVisor refuses as a negative offset ({SOURCE}:190)"
    if table_end > size:
        return (
            f"its program header table (e_phoff {e_phoff}, {e_phnum} × 56 bytes) ends at byte {table_end}, "
            f"past the end of the {size}-byte file: gVisor reads every header in full ({SOURCE}:195-204)"
        )
    host_machine = HOST_MACHINE.get(host_uname)
    if host_machine is not None and e_machine != host_machine:
        return (
            f"it is an {MACHINE_NAMES.get(e_machine, e_machine)} program, and gVisor runs only its host's "
            f"architecture ({MACHINE_NAMES.get(host_machine, host_uname)} here), with no emulator "
            f"({SOURCE}:585, loadInitialELF)"
        )
    if table_end > len(head):
        return None  # the headers are past what was read: nothing more can be said
    end = 0
    for number in range(e_phnum):
        p_type, _flags, _offset, p_vaddr, _paddr, _filesz, p_memsz, _align = struct.unpack_from(
            "<IIQQQQQQ", head, e_phoff + number * PHDR64_SIZE
        )
        if p_type != PT_LOAD:
            continue
        if p_vaddr < end:
            return (
                f"PT_LOAD program header {number} starts at {p_vaddr:#x}, before the end of the one "
                f"before it ({end:#x}): gVisor takes PT_LOAD segments in address order only, which "
                f"Linux does not require ({SOURCE}:414)"
            )
        end = p_vaddr + p_memsz
        if end >= 1 << 64:
            return f"PT_LOAD program header {number} ends past the address space ({SOURCE}:421-425)"
    return None
