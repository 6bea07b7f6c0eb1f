"""gVisor's ELF loader rules, read off pkg/sentry/loader/elf.go (parseHeader, loadParsedELF,
mapSegment), as a static check: the list of rules a file breaks, empty when runsc would load it.

tests/elf checks the gvisor profile's files with it; executing them under runsc is the judge's
part (scripts/setup.sh installs runsc). Linux is laxer than every rule here, so a file that
passes still runs natively, which tests/elf also checks.
"""

from __future__ import annotations

PAGE = 4096
ELF64_HEADER, ELF64_PHDR = 64, 56
EM_X86_64, EM_AARCH64 = 62, 183
ET_EXEC, ET_DYN = 2, 3
PT_LOAD = 1
MAX_TOTAL_PHDR = PAGE  # maxTotalPhdrSize
U64 = 1 << 64


def gvisor_problems(data: bytes) -> list[str]:
    """The gVisor loader rules ``data`` breaks (empty: runsc loads it)."""
    if len(data) < 16:
        return ["the 16-byte e_ident cannot be read in full"]
    found = []
    if data[:4] != b"\x7fELF":
        return ["not an ELF file"]
    if data[4] != 2:
        found.append(f"EI_CLASS is {data[4]}: gVisor loads ELFCLASS64 only")
    if data[5] != 1:
        found.append(f"EI_DATA is {data[5]}: gVisor loads ELFDATA2LSB only")
    if data[6] != 1:
        found.append(f"EI_VERSION is {data[6]}: gVisor wants EV_CURRENT")
    if len(data) < ELF64_HEADER:
        return [*found, f"the file has {len(data)} bytes: gVisor reads a whole 64-byte ELF64 header"]

    def u16(at: int) -> int:
        return int.from_bytes(data[at : at + 2], "little")

    def u64(at: int) -> int:
        return int.from_bytes(data[at : at + 8], "little")

    if u16(18) not in (EM_X86_64, EM_AARCH64):
        found.append(f"e_machine is {u16(18)}: gVisor runs EM_X86_64 and EM_AARCH64 only")
    if u16(16) not in (ET_EXEC, ET_DYN):
        found.append(f"e_type is {u16(16)}: gVisor loads ET_EXEC and ET_DYN")
    if u16(54) != ELF64_PHDR:
        return [*found, f"e_phentsize is {u16(54)}: gVisor wants 56"]
    phoff, phnum = u64(32), u16(56)
    total = phnum * ELF64_PHDR
    if phnum == 0 or total > MAX_TOTAL_PHDR:
        return [*found, f"e_phnum is {phnum}: gVisor wants 1 to {MAX_TOTAL_PHDR // ELF64_PHDR}"]
    if phoff >= 1 << 63 or phoff + total >= 1 << 63:
        return [*found, f"e_phoff {phoff:#x} is negative as an int64"]
    if phoff + total > len(data):
        end_at = phoff + total
        return [*found, f"the program headers end at {end_at:#x}, past EOF: gVisor reads them in full"]
    end = 0
    for index in range(phnum):
        base = phoff + index * ELF64_PHDR
        p_type = int.from_bytes(data[base : base + 4], "little")
        offset, vaddr, filesz, memsz = u64(base + 8), u64(base + 16), u64(base + 32), u64(base + 40)
        if p_type != PT_LOAD:
            continue
        if vaddr < end:
            found.append(f"PT_LOAD {index} at {vaddr:#x} is out of order (previous end {end:#x})")
        if vaddr + memsz >= U64:
            found.append(f"PT_LOAD {index}: p_vaddr + p_memsz overflows")
            continue
        end = vaddr + memsz
        adjust = vaddr % PAGE
        if (offset - adjust) % PAGE or offset < adjust:
            found.append(f"PT_LOAD {index}: p_offset {offset:#x} is not ≡ p_vaddr (mod page)")
        file_size = filesz + adjust
        map_size = -(-file_size // PAGE) * PAGE
        if memsz > filesz and map_size > file_size and offset + filesz > len(data):
            # ZeroOut of the mapped file's last page: past EOF there is no page to write to
            found.append(f"PT_LOAD {index}: zero-fill of a page past EOF (p_filesz {filesz:#x})")
    return found
