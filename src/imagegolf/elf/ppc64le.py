"""ppc64le programs: an ELF64 (little-endian, ELFv2) header that three loaders accept, code in
its free words.

Three parties read the file, and each must accept every byte of it:

- Linux's ELF loader (docs/elf.md): the magic, e_type, e_machine, e_phentsize = 56, e_phnum
  and the program header, which must lie inside the file. On ppc64 it also reads e_flags'
  two ABI bits: 2 (ELFv2) enters at e_entry; 0/1 (ELFv1) treats e_entry as a function
  descriptor (start_thread reads the real entry and the TOC from it).
- qemu-user (linux-user/elfload.c, 7.2): EI_CLASS = 2, EI_DATA = 1, EI_VERSION = 1,
  e_ehsize = 64, e_phentsize = 56; e_flags & 3 picks the ABI exactly as Linux does
  (get_ppc64_abi), and for ELFv2 r12 = the entry address (init_thread), as on Linux.
- binfmt_misc (qemu-ppc64le): magic `7f454c4602010100000000000000000002001500` under mask
  `fffffffffffffffcfffffffffffffffffeffff00`: bytes 0-6 exact, EI_OSABI 0-3, bytes 8-15 zero,
  e_type 2|3, e_machine's low byte 21.

Unlike MIPS, a zero word is an illegal instruction on Power, so code lives only in the words no
loader reads, chained by branches. The program header starts at e_phnum (offset 56), as on
arm64 (e_phnum = 1, e_shentsize = 0 spell p_type = PT_LOAD).

 off  ELF header           program header  contents (embed)
   0  e_ident[0..15]                       7f 'E' 'L' 'F' 02 01 01 00, 8 x 00  (binfmt, qemu)
  16  e_type, e_machine                    02 00 15 00
  20  e_version                            0                       (unused)
  24  e_entry                              BASE + 40
  32  e_phoff                              56
  40  e_shoff                              li r0, 4 ; li r3, 1     <- entry (unread by all)
  48  e_flags                              ba BASE+80 = 0x48010052: low bits 10 = ELFv2
  52  e_ehsize, e_phentsize                40 00 38 00             (qemu checks both)
  56  e_phnum, e_shentsize p_type          01 00 00 00
  60  e_shnum, e_shstrndx  p_flags         5 = PF_R|PF_X
  64                       p_offset        0
  72                       p_vaddr         BASE = 0x10000
  80                       p_paddr         addi r4, r12, MSG-40 ; li r5, LEN  (or lwz r5)
  88                       p_filesz        0x48000010 = b +16 (to 104): 1.2 GB, past EOF
  96                       p_memsz         0x48000010 (= p_filesz: nothing to zero-fill)
 104                       p_align         sc (write) ; li r0, 1
 112                                       li r3, 0 ; sc (exit)
 120                                       the message (short) | LEN word, message at 124

Run order: 40 li, 44 li, 48 ba, 80 addi, 84 li, 88 b, 104 sc = write(1, MSG, LEN), 108 li,
112 li, 116 sc = exit(0).

120 + len bytes for 1 <= len <= 32767 (li's signed 16-bit immediate), 124 + len above (LEN is a
data word at 120, read by lwz r5, 80(r12)).

Floor: 112 is the smallest file under these loaders (the program header cannot start before
e_phnum and must lie in the file). The program needs 8 instructions (li r0; li r3; addi r4;
li r5; sc; li r0; li r3; sc) and the free words at 40, 44, 80, 84, 104, 108 form runs of two
ended by fixed or zero words; the runs at 20 (e_entry's low word after it is BASE+x, an
illegal opcode-0 word for any BASE < 32 MB that `ba` can reach) and 60 (followed by p_offset's
zeros) cannot continue. Six usable words plus the two branch words (e_flags, p_filesz) leave
two instructions over: 120 is the best found for this chain.
"""

from __future__ import annotations

from imagegolf.elf.layout import Canvas, LayoutConflict
from imagegolf.elf.spec import (
    EF_PPC64_ABI,
    EF_PPC64_ABI_V2,
    ELF64_EHDR,
    ELF64_PHDR,
    ELF_MAGIC,
    ELFCLASS64,
    ELFDATA2LSB,
    EM_PPC64,
    ET_EXEC,
    EV_CURRENT,
    MAX_PAGE,
    PF_R,
    PF_X,
    PT_LOAD,
)
from imagegolf.errors import UsageError

PHOFF = 56  # the program header starts at e_phnum
BASE = 0x10000  # >= vm.mmap_min_addr, 64 KiB-aligned (ppc64 kernels often use 64 KiB pages)
ENTRY = 40  # e_shoff: no loader reads it to execute a file
SHORT_MESSAGE = 120
LONG_LEN = 120
LONG_MESSAGE = 124
LI_MAX = 0x7FFF  # li's immediate is signed 16-bit
FILESZ_TO = 104  # p_filesz is `b +16`: from 88 to p_align
__NR_write, __NR_exit = 4, 1

SC = 0x44000002  # sc


def li(rd: int, value: int) -> int:
    """li rd, value (addi rd, 0, SIMM)."""
    return addi(rd, 0, value)


def addi(rd: int, ra: int, value: int) -> int:
    """addi rd, ra, SIMM (D-form, opcode 14)."""
    if not -0x8000 <= value <= 0x7FFF:
        raise LayoutConflict(f"addi: {value} does not fit 16 bits")
    return 14 << 26 | rd << 21 | ra << 16 | value & 0xFFFF


def lwz(rd: int, ra: int, offset: int) -> int:
    """lwz rd, offset(ra) (D-form, opcode 32)."""
    if not -0x8000 <= offset <= 0x7FFF:
        raise LayoutConflict(f"lwz: {offset} does not fit 16 bits")
    return 32 << 26 | rd << 21 | ra << 16 | offset & 0xFFFF


def b(offset: int) -> int:
    """b offset (I-form, opcode 18, AA = 0, LK = 0): relative, ±32 MiB."""
    if offset % 4 or not -(1 << 25) <= offset < 1 << 25:
        raise LayoutConflict(f"b: {offset} does not fit")
    return 18 << 26 | offset & 0x3FFFFFC


def ba(target: int) -> int:
    """ba target (I-form, AA = 1): absolute, below 32 MiB; its low bits are 10."""
    if target % 4 or not 0 <= target < 1 << 25:
        raise LayoutConflict(f"ba: {target:#x} is not reachable")
    return 18 << 26 | target | 2


def words(*instructions: int) -> bytes:
    return b"".join(word.to_bytes(4, "little") for word in instructions)


def build_embed(message: bytes) -> bytes:
    """A ppc64le ELF that writes ``message`` to stdout and exits 0."""
    if not message:
        raise UsageError("the message is empty", hint="give at least one character to print")
    length = len(message)
    msg = SHORT_MESSAGE if length <= LI_MAX else LONG_MESSAGE
    e, p = ELF64_EHDR, ELF64_PHDR
    flags = ba(BASE + 80)  # e_flags: ELFv2's low bits 10 are also `ba`'s AA=1, LK=0
    filesz = b(FILESZ_TO - 88)
    if flags & EF_PPC64_ABI != EF_PPC64_ABI_V2:
        raise LayoutConflict("e_flags does not say ELFv2")
    c = Canvas()
    c.put(0, ELF_MAGIC, "e_ident[EI_MAG]")
    c.field(e, "e_ident[EI_CLASS]", ELFCLASS64)  # qemu-user and binfmt_misc check bytes 4-6
    c.field(e, "e_ident[EI_DATA]", ELFDATA2LSB)
    c.field(e, "e_ident[EI_VERSION]", EV_CURRENT)
    c.field(e, "e_ident[EI_OSABI]", 0)  # binfmt_misc: 0-3
    c.field(e, "e_ident[EI_ABIVERSION]", 0)  # binfmt_misc: bytes 8-15 must be zero
    c.field(e, "e_ident[EI_PAD]", 0)
    c.field(e, "e_type", ET_EXEC)  # binfmt_misc: 2 or 3; ET_EXEC maps at p_vaddr
    c.field(e, "e_machine", EM_PPC64)
    c.field(e, "e_entry", BASE + ENTRY)
    c.field(e, "e_phoff", PHOFF)
    c.field(e, "e_flags", flags)  # Linux and qemu read only its ABI bits (& 3)
    c.field(e, "e_ehsize", e.size)  # qemu-user checks it; Linux does not
    c.field(e, "e_phentsize", p.size)  # both check it: 56
    c.field(e, "e_phnum", 1)  # with e_shentsize = 0: p_type = PT_LOAD
    c.field(e, "e_shentsize", 0)  # neither loader checks it (qemu 7.2 dropped that check)
    c.field(p, "p_type", PT_LOAD, base=PHOFF)
    c.field(p, "p_flags", PF_R | PF_X, base=PHOFF)  # = e_shnum, e_shstrndx: sections unread
    c.field(p, "p_offset", 0, base=PHOFF)  # ≡ p_vaddr (mod page): maps file offset 0
    c.field(p, "p_vaddr", BASE, base=PHOFF)
    c.field(p, "p_filesz", filesz, base=PHOFF)  # > file size: mapping past EOF is allowed
    c.field(p, "p_memsz", filesz, base=PHOFF)  # = p_filesz: nothing to zero-fill
    if BASE % MAX_PAGE or BASE < 0x10000:
        raise LayoutConflict("BASE must be 64 KiB-aligned and above vm.mmap_min_addr")
    # e_shoff: unread by Linux and qemu-user (qemu reads sections only to log symbols)
    c.put(40, words(li(0, __NR_write), li(3, 1)), "code: li r0, 4; li r3, 1")
    if length <= LI_MAX:
        load_length = li(5, length)
    else:
        load_length = lwz(5, 12, LONG_LEN - ENTRY)  # r12 = entry address (ELFv2, Linux and qemu)
        c.put(LONG_LEN, length.to_bytes(4, "little"), "data: LEN")
    # p_paddr: never read; r12 holds the entry address under ELFv2
    c.put(80, words(addi(4, 12, msg - ENTRY), load_length), "code: addi r4, r12; li r5")
    # p_align: read only for ET_DYN; 112..119 is past the program header
    c.put(104, words(SC, li(0, __NR_exit), li(3, 0), SC), "code: sc; li r0, 1; li r3, 0; sc")
    c.put(msg, message, "message")
    return c.to_bytes()
