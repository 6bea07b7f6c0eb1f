"""arm64 programs: ELF64 headers that three loaders accept, with the code in their free words.

Three parties read an arm64 file, and each must accept every byte of it:

- Linux's ELF loader (docs/elf.md): only the magic of e_ident, then e_type, e_machine,
  e_phentsize = 56, e_phnum and the program header, which must lie inside the file.
- qemu-user's loader (linux-user/elfload.c), stricter: EI_CLASS = 2, EI_DATA = 1,
  EI_VERSION = 1 (elf_check_ident), e_ehsize = 64 and e_phentsize = 56 (elf_check_ehdr). It
  does not read e_version, e_shoff, nor e_flags (elf_check_abi tests e_flags on MIPS only).
- binfmt_misc, which is how podman, docker and containerd run an arm64 image on an x86-64
  host: the first 20 bytes must match the magic `7f454c460201010000000000000000000200b700`
  under the mask `ffffffffffffff00fffffffffffffffffeffffff` (Debian's qemu-user-static,
  tonistiigi/binfmt, qemu's qemu-binfmt-conf.sh): bytes 0-6 exact, byte 7 (EI_OSABI) free,
  bytes 8-15 (EI_ABIVERSION and EI_PAD) zero, e_type 2 or 3, e_machine 183. A file that fails
  the match is not handed to qemu at all: the kernel answers "exec format error".

So e_ident holds nothing but its conventional bytes, and the program header overlaps the ELF
header from e_phnum on (offset 56: e_phnum = 1 and e_shentsize = 0 spell p_type = PT_LOAD).
Instructions are 4-byte words at 4-aligned addresses in the words no loader reads, chained by
branches; two of those branches are header values: e_entry's low word (thanks to BASE) and
p_filesz.

 off  ELF header           program header  contents (embed)
   0  e_ident[0..6]        -               7f 'E' 'L' 'F' 02 01 01  (binfmt: exact; qemu: class, data, ver.)
   7  e_ident[EI_OSABI]                    00                       (binfmt mask 00; nobody reads it)
   8  e_ident[8..15]                       00 x 8                   (binfmt: must be zero)
  16  e_type, e_machine                    02 00 b7 00              (binfmt: 2|3 and 183)
  20  e_version                            adr x1, MSG              <- entry (nobody reads e_version)
  24  e_entry                              BASE + 20: low word = b 104, high word 0
  32  e_phoff                              56
  40  e_shoff                              svc #0 (write); ldp w8, w0, [x1, #60 - MSG]
  48  e_flags                              svc #0 (exit)
  52  e_ehsize, e_phentsize                40 00 38 00              (qemu checks both, Linux the 2nd)
  56  e_phnum, e_shentsize p_type          01 00 00 00
  60  e_shnum, e_shstrndx  p_flags         93 = PF_R|PF_X + ignored bits: __NR_exit, w8 of exit
  64                       p_offset        0: its low word is w0 of exit (0)
  72                       p_vaddr         BASE = 0x14000000
  80                       p_paddr         mov w2, #LEN; mov w8, #64 (write)
  88                       p_filesz        0x17fffff4 = b 40
  96                       p_memsz         0x17fffff4
 104                       p_align         mov w0, #1; b 80
 112                                       the message

Run order: 20 adr, 24 b, 104 mov, 108 b, 80 mov, 84 mov, 88 b, 40 svc = write(1, MSG, LEN),
44 ldp, 48 svc = exit(0). BASE = 0x14000000 is the `b` opcode with a zero offset: e_entry's
low word, BASE + 20, is then `b +80` (to p_align), and the code at e_version needs no branch.

112 + len bytes for 1 <= len <= 65535 (LEN is mov's 16-bit immediate). From 65536 bytes on
the message moves to 116 and LEN to a data word at 112, read by `ldr w2, LEN`: 116 + len.
That 112 is the floor of any such layout: the program header cannot start before e_phnum (no
earlier offset spells PT_LOAD, PF_R|PF_X and a p_offset below 4096 next to the fixed bytes and
a 4-aligned entry), it must lie in the file, and its last word, p_align, is needed for code
(without it the free words cannot hold the 7 instructions and the branches that chain them).
p_filesz = p_memsz: no zero-fill, so `modern` gains nothing.

The argv layout (132 bytes) loads argv[1] from the stack and runs a strlen loop at p_align; its
e_ident was already binfmt-clean.
"""

from __future__ import annotations

from imagegolf.elf import a64
from imagegolf.elf.layout import Canvas, LayoutConflict
from imagegolf.elf.spec import (
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
    PF_W,
    PF_X,
    PT_LOAD,
)

PHOFF = 56  # the program header starts at e_phnum
__NR_write, __NR_exit = 64, 93
MOV_MAX = 0xFFFF  # mov w2, #LEN: movz's 16-bit immediate

EMBED_BASE = a64.b(0)  # 0x14000000: the `b` opcode; 64 KiB-aligned, so any page size maps it
EMBED_ENTRY = 20  # e_version: read by neither Linux nor qemu-user
EXIT_ARGS = 60  # p_flags (= __NR_exit), then p_offset's low word (= 0): ldp w8, w0 -> exit(0)
SHORT_MESSAGE = PHOFF + ELF64_PHDR.size  # 112: right after the program header
LONG_LEN = SHORT_MESSAGE  # 112: LEN as a data word when it does not fit mov
LONG_MESSAGE = LONG_LEN + 4  # 116

ARGV_BASE = 0x10000  # vm.mmap_min_addr is often 65536
ARGV_ENTRY = 40  # e_shoff: the first word no loader reads
ARGV_SIZE = 132

if __NR_exit & (PF_R | PF_W | PF_X) != PF_R | PF_X:  # p_flags = 93 must map read + execute
    raise LayoutConflict("__NR_exit does not spell PF_R|PF_X in its low bits")


def embed(message: bytes) -> bytes:
    """An arm64 ELF that writes ``message`` to stdout and exits 0."""
    length = len(message)
    msg = SHORT_MESSAGE if length <= MOV_MAX else LONG_MESSAGE
    to_code_at_40 = a64.b(40 - 88)  # p_filesz's low word is the branch to e_shoff
    canvas = Canvas()
    _ident(canvas)
    _segment(canvas, base=EMBED_BASE, entry=EMBED_ENTRY, flags=__NR_exit, filesz=to_code_at_40)
    canvas.put(20, a64.words(a64.adr(1, msg - 20)), "code")  # adr x1, MSG; e_version: unread
    # e_entry = BASE + 20: its low word 0x14000014 is `b +80`, executed right after e_version
    canvas.put(24, a64.words(a64.b(104 - 24)), "code")
    canvas.put(
        104,
        a64.words(
            a64.mov_w(0, 1),  # mov w0, #1                                  ; stdout
            a64.b(80 - 108),  # b 80
        ),
        "code",  # p_align: read only for ET_DYN (Linux and qemu-user)
    )
    if length <= MOV_MAX:
        load_length = a64.mov_w(2, length)  # mov w2, #LEN
    else:
        load_length = a64.ldr_w_literal(2, LONG_LEN - 80)  # ldr w2, LEN
        canvas.put(LONG_LEN, length.to_bytes(4, "little"), "data: LEN")
    canvas.put(
        80,
        a64.words(
            load_length,
            a64.mov_w(8, __NR_write),  # mov w8, #64
        ),
        "code",  # p_paddr: ignored
    )
    canvas.put(88, a64.words(to_code_at_40), "code")  # b 40: also p_filesz and p_memsz
    canvas.put(
        40,
        a64.words(
            a64.SVC_0,  # svc #0                                            ; write(1, MSG, LEN)
            a64.ldp_w(8, 0, 1, EXIT_ARGS - msg),  # ldp w8, w0, [x1, #60 - MSG]  ; 93, 0
            a64.SVC_0,  # svc #0                                            ; exit(0)
        ),
        "code",  # e_shoff and e_flags: not read by Linux, nor by qemu-user for aarch64
    )
    canvas.put(msg, message, "message")
    return canvas.to_bytes()


def argv() -> bytes:
    """An arm64 ELF that writes its argv[1] (which must be non-empty) to stdout and exits 0."""
    canvas = Canvas()
    _ident(canvas)
    canvas.field(ELF64_EHDR, "e_version", EV_CURRENT)  # conventional: the code starts at 40
    _segment(canvas, base=ARGV_BASE, entry=ARGV_ENTRY, flags=PF_R | PF_X, filesz=ARGV_SIZE)
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
    return canvas.to_bytes(ARGV_SIZE)


def _ident(canvas: Canvas) -> None:
    """What every loader checks, shared by both layouts: e_ident, e_type, e_machine, sizes."""
    e = ELF64_EHDR
    canvas.put(0, ELF_MAGIC, "e_ident[EI_MAG]")  # the only e_ident bytes Linux reads
    canvas.field(e, "e_ident[EI_CLASS]", ELFCLASS64)  # qemu-user and binfmt_misc check these
    canvas.field(e, "e_ident[EI_DATA]", ELFDATA2LSB)  # three exactly (bytes 4-6)
    canvas.field(e, "e_ident[EI_VERSION]", EV_CURRENT)
    canvas.field(e, "e_ident[EI_OSABI]", 0)  # masked out by binfmt_misc; kept conventional
    canvas.field(e, "e_ident[EI_ABIVERSION]", 0)  # binfmt_misc: bytes 8-15 must be zero,
    canvas.field(e, "e_ident[EI_PAD]", 0)  # so nothing else may be drawn there
    canvas.field(e, "e_type", ET_EXEC)  # binfmt_misc: 2 or 3; ET_EXEC maps at p_vaddr
    canvas.field(e, "e_machine", EM_AARCH64)
    canvas.field(e, "e_phoff", PHOFF)
    canvas.field(e, "e_ehsize", ELF64_EHDR.size)  # qemu-user checks it; Linux does not
    canvas.field(e, "e_phentsize", ELF64_PHDR.size)  # both check it: 56
    canvas.field(e, "e_phnum", 1)  # with e_shentsize = 0: p_type = PT_LOAD
    canvas.field(e, "e_shentsize", 0)  # neither loader checks it
    canvas.field(ELF64_PHDR, "p_type", PT_LOAD, base=PHOFF)


def _segment(canvas: Canvas, *, base: int, entry: int, flags: int, filesz: int) -> None:
    """e_entry and the PT_LOAD that maps the whole file (from offset 0) at ``base``."""
    p = ELF64_PHDR
    if base % MAX_PAGE or base < 0x10000:
        raise LayoutConflict("the base must be 64 KiB-aligned and above vm.mmap_min_addr")
    canvas.field(ELF64_EHDR, "e_entry", base + entry)
    # p_flags = e_shnum, e_shstrndx: no loader reads section headers to execute a file;
    # loaders read only PF_R, PF_W and PF_X of it
    canvas.field(p, "p_flags", flags, base=PHOFF)
    canvas.field(p, "p_offset", 0, base=PHOFF)  # ≡ p_vaddr (mod page): maps file offset 0
    canvas.field(p, "p_vaddr", base, base=PHOFF)
    canvas.field(p, "p_filesz", filesz, base=PHOFF)  # > file size: mapping past EOF is allowed
    canvas.field(p, "p_memsz", filesz, base=PHOFF)  # = p_filesz: nothing to zero-fill
