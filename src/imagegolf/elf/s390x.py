"""s390x programs: a big-endian ELF64 header that three loaders accept, code in its free bytes.

Three parties read the file, and each must accept every byte of it:

- Linux's ELF loader (docs/elf.md): the magic, e_type, e_machine (22), e_phentsize = 56,
  e_phnum and the program header, which must lie inside the file (s390's elf_check_arch also
  wants EI_CLASS = 2).
- qemu-user (linux-user/elfload.c, 7.2): EI_CLASS = 2, EI_DATA = 2 (MSB), EI_VERSION = 1,
  e_ehsize = 64, e_phentsize = 56. No e_flags check on s390x.
- binfmt_misc (qemu-s390x): magic `7f454c4602020100000000000000000000020016` under mask
  `fffffffffffffffcfffffffffffffffffffeffff`: bytes 0-6 exact, EI_OSABI 0-3, bytes 8-15
  zero, e_type 2|3 and e_machine 22 (both big-endian).

Big-endian moves the program header. At e_phnum (56) p_type would read 0x0001xxxx. And
qemu-user on a little-endian host byte-swaps the header in place twice: first the ELF header
field by field (bswap_ehdr), then the program header (bswap_phdr) over the same buffer. A
program-header word that spans two ELF-header halfwords is therefore read by qemu with its
halves exchanged, while a native s390x kernel reads it as stored: p_type = 00 00 00 01 at 58
(e_shentsize, e_shnum) reads 0x00010000 in qemu. p_type at 62 straddles only e_shstrndx (zero,
identical swapped or not) and two bytes past the header: both read PT_LOAD. The loaders do not
require e_phoff to be aligned. z/Architecture instructions are 2, 4 or 6 bytes,
halfword-aligned, so they fill odd-sized gaps.

 off  ELF header           program header  contents (embed)
   0  e_ident[0..15]                       7f 'E' 'L' 'F' 02 02 01 00, 8 x 00  (binfmt, qemu)
  16  e_type, e_machine                    00 02 00 16
  20  e_version                            sr %r2,%r2 ; svc 1          (exit(0); unread field)
  24  e_entry                              BASE + 40
  32  e_phoff                              62
  40  e_shoff                              lghi %r2,1 ; llilh %r4,LEN>>16  <- entry
  48  e_flags                              j 110                       (unread on s390x)
  52  e_ehsize, e_phentsize                00 40 00 38
  56  e_phnum, e_shentsize, e_shnum        00 01, 00 00, 00 00         (58-61 unused)
  62  e_shstrndx           p_type          00 00 | 00 01
  66                       p_flags         00 00 00 05 = PF_R|PF_X
  70                       p_offset        0
  78                       p_vaddr         BASE = 0x10000
  86                       p_paddr         svc 4 ; j 20 ; 00 00        (never read)
  94                       p_filesz        the file size
 102                       p_memsz         the file size
 110                       p_align         iill %r4,LEN & 0xffff ; bras %r3,86  (ET_EXEC: unread)
 118                                       the message

Run order: 40 lghi, 44 llilh, 48 j, 110 iill, 114 bras (%r3 = the address after it = the
message), 86 svc 4 = write(1, MSG, LEN), 88 j, 20 sr, 22 svc 1 = exit(0).

118 + len bytes for every length below 4 GiB: LEN is assembled from two 16-bit halves.
That is the floor for this header under both a native kernel and qemu-user on a
little-endian host: the program header cannot start before 62 (56 and 58 spell PT_LOAD for
one loader only, 54 and 60 clash with e_phentsize / the swap) and must lie in the file, so the
file has at least 118 bytes before a message that does not overlap it. (Overlapping the message
with p_align would leave 12 + 8 + 4 free bytes in runs too short for the ~16 bytes of the
write plus the branches that chain them.)
"""

from __future__ import annotations

from imagegolf.elf.layout import Canvas, LayoutConflict
from imagegolf.elf.spec import (
    ELF64_EHDR,
    ELF64_PHDR,
    ELF_MAGIC,
    ELFCLASS64,
    ELFDATA2MSB,
    EM_S390,
    ET_EXEC,
    EV_CURRENT,
    PF_R,
    PF_X,
    PT_LOAD,
)
from imagegolf.errors import UsageError

PHOFF = 62  # p_type over e_shstrndx = 0 + two bytes past the ELF header: see the docstring
BASE = 0x10000  # >= vm.mmap_min_addr, page-aligned
ENTRY = 40
MESSAGE = PHOFF + ELF64_PHDR.size  # 118
PADDR = PHOFF + ELF64_PHDR["p_paddr"].offset  # 86
ALIGN = PHOFF + ELF64_PHDR["p_align"].offset  # 110
__NR_write, __NR_exit = 4, 1
BE = ELFDATA2MSB.byteorder  # every field of more than one byte: s390x files are ELFDATA2MSB


def _rel16(at: int, target: int) -> int:
    offset = target - at
    if offset % 2 or not -0x10000 <= offset < 0x10000:
        raise LayoutConflict(f"relative branch from {at} to {target} does not fit")
    return (offset // 2) & 0xFFFF


def ri(op1: int, r1: int, op2: int, imm: int) -> bytes:
    """RI format: op1 (8 bits), r1, op2 (4 bits), 16-bit immediate."""
    return bytes([op1, r1 << 4 | op2]) + (imm & 0xFFFF).to_bytes(2, "big")


def lghi(r: int, imm: int) -> bytes:
    return ri(0xA7, r, 0x9, imm)


def llilh(r: int, imm: int) -> bytes:
    """Load logical immediate low-high: r = imm << 16."""
    return ri(0xA5, r, 0xE, imm)


def iill(r: int, imm: int) -> bytes:
    """Insert immediate low-low: bits 48-63 of r = imm."""
    return ri(0xA5, r, 0x3, imm)


def j(at: int, target: int) -> bytes:
    """j target (brc 15)."""
    return ri(0xA7, 0xF, 0x4, _rel16(at, target))


def bras(r: int, at: int, target: int) -> bytes:
    """bras r, target: r = the address of the next instruction, then branch."""
    return ri(0xA7, r, 0x5, _rel16(at, target))


def svc(number: int) -> bytes:
    return bytes([0x0A, number])


def sr(r1: int, r2: int) -> bytes:
    return bytes([0x1B, r1 << 4 | r2])


def build_embed(message: bytes) -> bytes:
    """An s390x ELF that writes ``message`` to stdout and exits 0."""
    if not message:
        raise UsageError("the message is empty", hint="give at least one character to print")
    length = len(message)
    if length >= 1 << 32:
        raise UsageError("the message is too long", hint="keep it below 4 GiB")
    e, p = ELF64_EHDR, ELF64_PHDR
    size = MESSAGE + length
    c = Canvas()
    c.put(0, ELF_MAGIC, "e_ident[EI_MAG]")
    c.field(e, "e_ident[EI_CLASS]", ELFCLASS64)  # qemu-user, binfmt_misc and Linux check it
    c.field(e, "e_ident[EI_DATA]", ELFDATA2MSB)  # qemu-user and binfmt_misc check bytes 5-6
    c.field(e, "e_ident[EI_VERSION]", EV_CURRENT)
    c.field(e, "e_ident[EI_OSABI]", 0)  # binfmt_misc: 0-3
    c.field(e, "e_ident[EI_ABIVERSION]", 0)  # binfmt_misc: bytes 8-15 must be zero
    c.field(e, "e_ident[EI_PAD]", 0)
    c.field(e, "e_type", ET_EXEC, byteorder=BE)  # binfmt_misc: 2 or 3; ET_EXEC maps at p_vaddr
    c.field(e, "e_machine", EM_S390, byteorder=BE)
    c.field(e, "e_entry", BASE + ENTRY, byteorder=BE)
    c.field(e, "e_phoff", PHOFF, byteorder=BE)  # unaligned: neither Linux nor qemu checks alignment
    c.field(e, "e_ehsize", e.size, byteorder=BE)  # qemu-user checks it; Linux does not
    c.field(e, "e_phentsize", p.size, byteorder=BE)  # both check it: 56
    c.field(e, "e_phnum", 1, byteorder=BE)
    c.field(e, "e_shentsize", 0, byteorder=BE)  # no loader reads section headers to execute a file
    c.field(e, "e_shnum", 0, byteorder=BE)
    c.field(e, "e_shstrndx", 0, byteorder=BE)  # p_type's first half: zero reads the same swapped or not
    c.field(p, "p_type", PT_LOAD, base=PHOFF, byteorder=BE)
    c.field(p, "p_flags", PF_R | PF_X, base=PHOFF, byteorder=BE)
    c.field(p, "p_offset", 0, base=PHOFF, byteorder=BE)  # ≡ p_vaddr (mod page): maps file offset 0
    c.field(p, "p_vaddr", BASE, base=PHOFF, byteorder=BE)
    c.field(p, "p_filesz", size, base=PHOFF, byteorder=BE)
    c.field(p, "p_memsz", size, base=PHOFF, byteorder=BE)  # = p_filesz: nothing to zero-fill
    # e_version: read by neither Linux nor qemu-user
    c.put(20, sr(2, 2) + svc(__NR_exit), "code: sr %r2,%r2; svc 1")
    # e_shoff and e_flags: unread on s390x (qemu reads sections only to log symbols)
    c.put(40, lghi(2, 1) + llilh(4, length >> 16) + j(48, ALIGN), "code: lghi; llilh; j")
    # p_paddr: never read
    c.put(PADDR, svc(__NR_write) + j(PADDR + 2, 20), "code: svc 4; j 20")
    # p_align: read only for ET_DYN; bras leaves the message's address (118) in %r3
    c.put(ALIGN, iill(4, length & 0xFFFF) + bras(3, ALIGN + 4, PADDR), "code: iill; bras %r3")
    c.put(MESSAGE, message, "message")
    return c.to_bytes()
