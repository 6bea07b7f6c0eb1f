"""The loader rules the layouts rely on, checked on the bytes with pyelftools as the parser.

Execution (test_execute.py) proves the files run on this kernel and this qemu; these checks
pin the rules that make them run elsewhere too (docs/elf.md), above all for the portable
profile: no zero-fill fault for old loaders, every file byte mapped, sane addresses.
"""

from __future__ import annotations

import io

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.structs import ELFStructs
from tests.elf.execution import param_id

from imagegolf.elf import Mode, Profile, build_program
from imagegolf.platform import LINUX_386, LINUX_AMD64, LINUX_ARM64, SUPPORTED, Platform

MESSAGES = [b"Hi IDBS Engineering! RE\n", b"x", b"y" * 255, b"z" * 256, b"w" * 70000]
CLASS = {LINUX_386: 32, LINUX_AMD64: 64, LINUX_ARM64: 64}
MACHINE = {LINUX_386: "EM_386", LINUX_AMD64: "EM_X86_64", LINUX_ARM64: "EM_AARCH64"}
PAGE = {LINUX_386: 4096, LINUX_AMD64: 4096, LINUX_ARM64: 65536}  # arm64 kernels may use 64 KiB
# Highest end of the segment the layouts may use: 3 GiB user space (a native i386 kernel's
# default split), 128 TiB (x86-64), 512 GiB (arm64 with 39-bit virtual addresses).
TASK_SIZE = {LINUX_386: 0xC0000000, LINUX_AMD64: 1 << 47, LINUX_ARM64: 1 << 39}
PF_X, PF_R = 1, 4


def headers(program: bytes, platform: Platform) -> tuple[dict[str, object], dict[str, object]]:
    """ELF header and first program header, parsed as the kernel does: zeros past EOF."""
    structs = ELFStructs(little_endian=True, elfclass=CLASS[platform])
    structs.create_basic_structs()
    structs.create_advanced_structs(
        e_type="ET_EXEC", e_machine=MACHINE[platform], e_ident_osabi="ELFOSABI_SYSV"
    )
    buffer = program + bytes(max(0, 256 - len(program)))  # binfmt_elf reads 256 bytes
    # Linux reads only the magic of e_ident; pyelftools insists on a known class and data
    # byte, so it parses a copy whose e_ident[4..15] is conventional (the layouts put code there).
    ident = b"\x7fELF" + bytes([CLASS[platform] // 32, 1, 1]) + bytes(9)
    ehdr = structs.Elf_Ehdr.parse(ident + buffer[16:])
    phoff = ehdr["e_phoff"]
    phdr = structs.Elf_Phdr.parse(program[phoff : phoff + structs.Elf_Phdr.sizeof()])
    return ehdr, phdr


def variants() -> list[tuple[Platform, Mode, bytes]]:
    cases = [(platform, Mode.EMBED, message) for platform in SUPPORTED for message in MESSAGES]
    return cases + [(platform, Mode.ARGV, b"any") for platform in SUPPORTED]


@pytest.mark.parametrize(("platform", "mode", "message"), variants(), ids=param_id)
def test_portable_loader_rules(platform: Platform, mode: Mode, message: bytes) -> None:
    program = build_program(message, platform, mode, Profile.PORTABLE)
    ehdr, phdr = headers(program, platform)
    assert program[:4] == b"\x7fELF"
    assert ehdr["e_type"] == "ET_EXEC"
    assert ehdr["e_machine"] == MACHINE[platform]
    assert ehdr["e_phentsize"] == (32 if CLASS[platform] == 32 else 56)
    assert ehdr["e_phnum"] >= 1
    assert ehdr["e_phoff"] + ehdr["e_phentsize"] <= len(program)  # read with a full-length read
    assert phdr["p_type"] == "PT_LOAD"

    page = PAGE[platform]
    vaddr, offset, filesz, memsz = phdr["p_vaddr"], phdr["p_offset"], phdr["p_filesz"], phdr["p_memsz"]
    assert vaddr % page == offset % page and offset < 4096  # the mapping starts at file offset 0
    base = vaddr - offset
    assert base >= 0x10000  # vm.mmap_min_addr
    assert filesz <= memsz and vaddr + memsz <= TASK_SIZE[platform]
    assert offset + filesz >= len(program)  # every byte of the file is mapped
    # Portable: the zero-fill of p_memsz > p_filesz must have nothing to clear (old loaders
    # abort the exec when that clear faults on a read-only page).
    assert filesz == memsz or (vaddr + filesz) % 4096 == 0
    needed = PF_R if platform == LINUX_386 else PF_R | PF_X  # ia32: READ_IMPLIES_EXEC
    assert phdr["p_flags"] & needed == needed
    # The entry may lie below p_vaddr: both loaders map whole pages, from file offset 0.
    assert base < ehdr["e_entry"] < base + len(program)
    if platform == LINUX_ARM64:
        assert ehdr["e_entry"] % 4 == 0


@pytest.mark.parametrize("mode", list(Mode))
def test_arm64_satisfies_qemu_user(mode: Mode) -> None:
    program = build_program(b"Hi IDBS Engineering! RE\n", LINUX_ARM64, mode)
    elffile = ELFFile(io.BytesIO(program))  # the full parser works: e_ident is genuine
    ident = elffile.header["e_ident"]
    assert ident["EI_CLASS"] == "ELFCLASS64"
    assert (ident["EI_DATA"], ident["EI_VERSION"]) == ("ELFDATA2LSB", "EV_CURRENT")
    assert elffile.header["e_ehsize"] == 64
    assert elffile.header["e_phentsize"] == 56
    assert elffile.get_machine_arch() == "AArch64"
    segments = list(elffile.iter_segments())
    assert [s["p_type"] for s in segments] == ["PT_LOAD"]
    base = segments[0]["p_vaddr"] - segments[0]["p_offset"]  # the mapping starts a page earlier
    assert base <= elffile.header["e_entry"] < base + len(program)


@pytest.mark.parametrize("platform", SUPPORTED, ids=str)
def test_pyelftools_reads_machine_and_entry(platform: Platform) -> None:
    program = build_program(b"Hi IDBS Engineering! RE\n", platform)
    ehdr, phdr = headers(program, platform)
    entries = {LINUX_386: 0x0D430014, LINUX_AMD64: 0x127500000001, LINUX_ARM64: 0x14000014}
    assert (ehdr["e_machine"], ehdr["e_entry"]) == (MACHINE[platform], entries[platform])
    assert phdr["p_type"] == "PT_LOAD"
