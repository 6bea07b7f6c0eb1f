"""arm64 programs: six instructions in the holes of an ELF64 header that qemu-user accepts.

qemu-user is stricter than the kernel (facts.md §2): EI_CLASS, EI_DATA, EI_VERSION, e_ehsize
and e_phentsize must be right, so the program header can only overlap the ELF header from
e_phnum on (offset 56: e_phnum = 1 and e_shentsize = 0 spell p_type = PT_LOAD). Instructions
are 4-byte words at 4-aligned addresses; they sit in the words no loader reads, chained by
branches, and two `ldp` load their syscall arguments from header words: (LEN, 64) from
e_ident's padding, (0, 93) from p_offset's high half and p_vaddr's low half.

 off  ELF header          program header  contents (embed)
   0  e_ident             -               7f 'E' 'L' 'F' 02 01 01 00 (class, data, version)
   8  e_ident[8..15]                      data: LEN, 64              (w2, w8 of write)
  16  e_type..e_version                   02 00 b7 00 01 00 00 00
  24  e_entry                             BASE + 40
  32  e_phoff                             56
  40  e_shoff, e_flags                    adr x1, MSG; ldp w2, w8, [x1, #-104]; b 80
  52  e_ehsize, e_phentsize               40 00 38 00                (qemu checks both)
  56  e_phnum, e_shentsize  p_type        01 00 00 00
  60  e_shnum, e_shstrndx   p_flags       05 00 00 00                PF_R|PF_X
  64                        p_offset      93: its high half is the 0 of (0, 93)
  72                        p_vaddr       BASE + 93: its low half is the 93 (w0, w8 of exit)
  80                        p_paddr       mov w0, #1; svc #0         (write)
  88                        p_filesz      0x14000004 = b 104
  96                        p_memsz       0x14000004
 104                        p_align       ldp w0, w8, [x1, #-44]; svc #0   (exit)
 112                                      the message

112 + len bytes for any length (LEN is a 32-bit word). BASE = 4 GiB makes p_vaddr's low half
equal p_offset (93). p_filesz = p_memsz (no zero-fill), so the `modern` profile gains nothing.
The argv layout (132 bytes) loads argv[1] from the stack and runs a strlen loop at p_align.
"""

from __future__ import annotations

from imagegolf.elf import a64
from imagegolf.elf.layout import (
    ELF64_EHDR,
    ELF64_PHDR,
    ELF_MAGIC,
    ELFCLASS64,
    ELFDATA2LSB,
    EM_AARCH64,
    ET_EXEC,
    EV_CURRENT,
    MAX_PAGE,
    PF_R,
    PF_X,
    PT_LOAD,
    Canvas,
    LayoutConflict,
)

PHOFF = 56  # the program header starts at e_phnum
ENTRY_OFFSET = 40  # e_shoff: the first word no loader reads
MESSAGE_OFFSET = PHOFF + ELF64_PHDR.size  # 112
__NR_write, __NR_exit = 64, 93
EMBED_BASE = 1 << 32  # low half zero: p_vaddr's low word is p_offset itself
ARGV_BASE = 0x10000  # vm.mmap_min_addr is often 65536


def embed(message: bytes) -> bytes:
    """An arm64 ELF that writes ``message`` to stdout and exits 0."""
    canvas = Canvas()
    exit_args = 68  # (p_offset >> 32, p_vaddr & 0xffffffff) = (0, __NR_exit)
    filesz = a64.b(104 - 88)  # p_filesz's low word is the branch to p_align
    _header(canvas, base=EMBED_BASE, offset=__NR_exit, filesz=filesz)
    canvas.put(8, a64.words(len(message), __NR_write), "data: LEN, __NR_write")
    canvas.put(
        40,
        a64.words(
            a64.adr(1, MESSAGE_OFFSET - 40),  # adr x1, MSG
            a64.ldp_w(2, 8, 1, 8 - MESSAGE_OFFSET),  # ldp w2, w8, [x1, #-104]  ; LEN, 64
            a64.b(80 - 48),  # b 80
        ),
        "code",  # e_shoff and e_flags: not read by Linux nor by qemu-user
    )
    canvas.put(
        80,
        a64.words(
            a64.mov_w(0, 1),  # mov w0, #1                                  ; stdout
            a64.SVC_0,  # svc #0                                            ; write(1, MSG, LEN)
        ),
        "code",  # p_paddr: ignored
    )
    canvas.put(
        104,
        a64.words(
            a64.ldp_w(0, 8, 1, exit_args - MESSAGE_OFFSET),  # ldp w0, w8, [x1, #-44]  ; 0, 93
            a64.SVC_0,  # svc #0                                            ; exit(0)
        ),
        "code",  # p_align: read only for ET_DYN
    )
    canvas.put(MESSAGE_OFFSET, message, "message")
    return canvas.to_bytes()


def argv() -> bytes:
    """An arm64 ELF that writes its argv[1] (which must be non-empty) to stdout and exits 0."""
    canvas = Canvas()
    size = 132
    _header(canvas, base=ARGV_BASE, offset=0, filesz=size)
    canvas.put(
        40,
        a64.words(
            a64.ldr_x(1, a64.SP, 16),  # ldr x1, [sp, #16]  ; argv[1] (sp points at argc)
            a64.mov_w(0, 1),  # mov w0, #1                  ; stdout
            a64.b(80 - 48),  # b 80
        ),
        "code",  # e_shoff and e_flags: not read by Linux nor by qemu-user
    )
    canvas.put(
        80,
        a64.words(
            a64.mov_w(8, __NR_write),  # mov w8, #64
            a64.b(104 - 84),  # b 104
        ),
        "code",  # p_paddr: ignored
    )
    canvas.put(
        104,  # p_align: read only for ET_DYN
        a64.words(
            a64.add_x(2, 2, 1),  # L: add x2, x2, #1   ; x2 counts from 1: argv[1] is non-empty
            a64.ldrb_reg(3, 1, 2),  # ldrb w3, [x1, x2]
            a64.cbnz_w(3, -8),  # cbnz w3, L
            a64.SVC_0,  # svc #0                       ; write(1, argv[1], x2)
            a64.mov_x(0, a64.XZR),  # mov x0, xzr     ; exit status 0
            a64.mov_w(8, __NR_exit),  # mov w8, #93
            a64.SVC_0,  # svc #0                       ; exit(0)
        ),
        "code",
    )
    return canvas.to_bytes(size)


def _header(canvas: Canvas, *, base: int, offset: int, filesz: int) -> None:
    """The header both layouts share: a valid e_ident for qemu, the phdr at e_phnum."""
    e, p = ELF64_EHDR, ELF64_PHDR
    if base % MAX_PAGE or offset >= 4096:
        raise LayoutConflict("p_offset must map file offset 0 for 4, 16 and 64 KiB pages")
    canvas.put(0, ELF_MAGIC, "e_ident[EI_MAG]")
    canvas.field(e, "e_ident[EI_CLASS]", ELFCLASS64)  # qemu-user checks these three,
    canvas.field(e, "e_ident[EI_DATA]", ELFDATA2LSB)  # Linux only the magic
    canvas.field(e, "e_ident[EI_VERSION]", EV_CURRENT)
    canvas.field(e, "e_ident[EI_OSABI]", 0)
    canvas.field(e, "e_type", ET_EXEC)  # ET_EXEC maps at p_vaddr
    canvas.field(e, "e_machine", EM_AARCH64)
    canvas.field(e, "e_version", EV_CURRENT)
    canvas.field(e, "e_entry", base + ENTRY_OFFSET)
    canvas.field(e, "e_phoff", PHOFF)
    canvas.field(e, "e_ehsize", ELF64_EHDR.size)  # qemu-user checks it; Linux does not
    canvas.field(e, "e_phentsize", ELF64_PHDR.size)  # both check it: 56
    canvas.field(e, "e_phnum", 1)  # with e_shentsize = 0: p_type = PT_LOAD
    canvas.field(e, "e_shentsize", 0)
    canvas.field(p, "p_type", PT_LOAD, base=PHOFF)
    # p_flags = e_shnum, e_shstrndx: no loader reads section headers for execution
    canvas.field(p, "p_flags", PF_R | PF_X, base=PHOFF)
    canvas.field(p, "p_offset", offset, base=PHOFF)  # ≡ p_vaddr (mod page): maps file offset 0
    canvas.field(p, "p_vaddr", base + offset, base=PHOFF)
    canvas.field(p, "p_filesz", filesz, base=PHOFF)  # > file size: mapping past EOF is allowed
    canvas.field(p, "p_memsz", filesz, base=PHOFF)  # = p_filesz: nothing to zero-fill
