"""arm32 programs (linux/arm/v5, v6, v7): an ELF32 whose program header starts at e_shoff,
run as Thumb code through the header.

Three parties read the file, and each must accept every byte of it:

- Linux's ELF loader (docs/elf.md) and arch/arm/kernel/elf.c: the magic, e_type, e_machine = 40,
  e_phentsize = 32, e_phnum and the program header. elf_check_arch wants an odd e_entry (Thumb)
  only if the CPU has HWCAP_THUMB (every ARMv5T(E), v6 and v7 does), and looks at e_flags only
  when its EABI version byte is 0: then EF_ARM_APCS_26 (0x08) and the VFP_FLOAT/SOFT_FLOAT
  pair (0x400/0x200) must be clear. EF_ARM_EABI_VER5 is not required.
- qemu-arm (linux-user/elfload.c): EI_CLASS = 1, EI_DATA = 1, EI_VERSION = 1, e_ehsize = 52,
  e_phentsize = 32; e_flags only selects BE8 on big-endian targets. Both loaders start a
  Thumb entry in Thumb state, and both take a Thumb `svc`'s syscall number from r7, whatever its
  immediate (Linux: no OABI emulation for Thumb; qemu: "Thumb is always EABI").
- binfmt_misc (qemu-arm): the first 20 bytes match `7f454c4601010100000000000000000002002800`
  under `ffffffffffffff00fffffffffffffffffeffffff`: bytes 8-15 zero, e_type 2 or 3, e_machine 40.

So the program header starts at e_shoff (32): e_shoff = 1 is p_type = PT_LOAD, e_flags = 0x34 is
p_offset, and the fixed e_ehsize/e_phentsize (52, 32) spell p_vaddr = 0x00200034, congruent to
p_offset modulo the page: the file maps from offset 0 at BASE = 0x200000.

 off  ELF header            program header  contents
   0  e_ident[0..6]         -               7f 'E' 'L' 'F' 01 01 01 (binfmt: exact; qemu: checked)
   7  e_ident[EI_OSABI]                     00                     (binfmt mask 00; unread)
   8  e_ident[8..15]                        00 x 8                 (binfmt: must be zero)
  16  e_type, e_machine                     02 00 28 00
  20  e_version                             adr r6, MSG; movs r2, #LEN   <- entry (Thumb)
  24  e_entry                               BASE + 21 = 0x00200015 (bit 0: Thumb)
  28  e_phoff                               32
  32  e_shoff               p_type          1 = PT_LOAD
  36  e_flags               p_offset        0x34 (EABI version 0: checks pass with these bits)
  40  e_ehsize,e_phentsize  p_vaddr         34 00 20 00 = 0x00200034 (qemu checks both, Linux 2nd)
  44  e_phnum, e_shentsize  p_paddr         01 00 00 00
  48  e_shnum, e_shstrndx   p_filesz        movs r7, #4; movs r0, #1  = 0x20012704
  52                        p_memsz         movs r7, #4; movs r0, #1  (= p_filesz: no zero-fill)
  56                        p_flags         svc #5 (write); movs r0, #0   low bits 101 = PF_R|PF_X
  60                        p_align         movs r7, #1; svc #0 (exit)
  64                                        the message (len <= 255), or LEN then the message

Run order: 20 adr r6, MSG; 22 movs r2, #LEN; then the header halfwords 24-47 run as Thumb
`movs rd, rm` (lsls #0): 0x0015 movs r5, r2 · 0x0020 movs r0, r4 (x2) · 0x0001 movs r1, r0 ·
0x0034 movs r4, r6 (x2) · 0x0020 movs r0, r4 · 0x0001 movs r1, r0 · 0x0000 movs r0, r0: they
leave r1 = r0 = r4 = r6 = MSG and touch nothing else we use (no initial register is relied on).
48 movs r7, #4; 50 movs r0, #1; 52-54 the same again (p_memsz); 56 svc = write(1, MSG, LEN);
58 movs r0, #0; 60 movs r7, #1; 62 svc = exit(0).

64 + len bytes for 1 <= len <= 255 (movs's 8-bit immediate). Above, 22 is `ldr r2, [pc, #40]`
reading LEN at 64 and the message moves to 68: 68 + len. 64 is the floor of this layout: the
program header must lie inside the file (Linux reads it with a full-length read) and no field
of it can hold arbitrary message bytes except p_align (which qemu reads to pick its page size).
An earlier program header start fails qemu (it checks e_ehsize/e_phentsize), a later one ends
past 64; every one of its 8 free halfwords is an instruction the program needs.
"""

from __future__ import annotations

from imagegolf.elf import t16
from imagegolf.elf.layout import Canvas, LayoutConflict, u32
from imagegolf.elf.spec import (
    ELF32_EHDR,
    ELF32_PHDR,
    ELF_MAGIC,
    ELFCLASS32,
    ELFDATA2LSB,
    EM_ARM,
    ET_EXEC,
    EV_CURRENT,
    PAGE,
    PF_R,
    PF_W,
    PF_X,
    PT_LOAD,
)
from imagegolf.errors import UsageError

PHOFF = 32  # e_shoff: the program header overlaps the ELF header from here on
BASE = 0x200000  # file offset 0 maps here: p_vaddr (0x00200034) - p_offset (0x34)
ENTRY = 20  # e_version: read by neither Linux nor qemu-user
THUMB = 1  # e_entry bit 0: start in Thumb state
__NR_write, __NR_exit = 4, 1
SHORT_MAX = 255  # movs r2, #LEN: 8-bit immediate
SHORT_MESSAGE = PHOFF + ELF32_PHDR.size  # 64: right after the program header
LONG_LEN = SHORT_MESSAGE  # 64: LEN as a data word when it does not fit movs
LONG_MESSAGE = LONG_LEN + 4  # 68
R0, R1, R2, R4, R5, R6, R7 = 0, 1, 2, 4, 5, 6, 7

# p_filesz = p_memsz = these two halfwords: ~512 MiB, so up to that much of the file is mapped
SIZE_HALVES = (t16.movs_imm(R7, __NR_write), t16.movs_imm(R0, 1))
WRITE = t16.svc(PF_R | PF_X)  # svc #5: its immediate is ignored, its low bits are p_flags


def build_embed(message: bytes) -> bytes:
    """An arm32 (EABI, little-endian, Thumb) ELF that writes ``message`` to stdout and exits 0."""
    if not message:
        raise UsageError("the message is empty", hint="give at least one byte to print")
    length = len(message)
    msg = SHORT_MESSAGE if length <= SHORT_MAX else LONG_MESSAGE
    canvas = Canvas()
    _header(canvas)
    if length <= SHORT_MAX:
        load_length = t16.movs_imm(R2, length)  # movs r2, #LEN
    else:
        load_length = t16.ldr_literal(R2, 22, LONG_LEN)  # ldr r2, LEN
        canvas.put(LONG_LEN, length.to_bytes(4, "little"), "data: LEN")
    # e_version is read by neither loader: the entry point, two instructions
    canvas.put(ENTRY, t16.halfwords(t16.adr(R6, ENTRY, msg), load_length), "code")
    # 24-47 are header fields that run as movs rd, rm and leave r0 = r1 = r6 = MSG (docstring)
    _check_header_run(canvas)
    code = t16.halfwords(
        *SIZE_HALVES,  # movs r7, #4; movs r0, #1      ; p_filesz
        *SIZE_HALVES,  # the same again                ; p_memsz = p_filesz: no zero-fill
        WRITE,  # svc #5                                ; write(1, MSG, LEN); p_flags R|X
        t16.movs_imm(R0, 0),  # movs r0, #0             ; p_flags' upper half: ignored bits
        t16.movs_imm(R7, __NR_exit),  # movs r7, #1     ; p_align: read only for ET_DYN
        t16.svc(0),  # svc #0                           ; exit(0)
    )
    canvas.put(48, code, "code")
    canvas.put(msg, message, "message")
    return canvas.to_bytes()


def _header(canvas: Canvas) -> None:
    """Every checked field, and the program header that overlaps the ELF header from 32."""
    e, p = ELF32_EHDR, ELF32_PHDR
    canvas.put(0, ELF_MAGIC, "e_ident[EI_MAG]")
    canvas.field(e, "e_ident[EI_CLASS]", ELFCLASS32)  # qemu-user and binfmt_misc check 4-6
    canvas.field(e, "e_ident[EI_DATA]", ELFDATA2LSB)
    canvas.field(e, "e_ident[EI_VERSION]", EV_CURRENT)
    canvas.field(e, "e_ident[EI_OSABI]", 0)  # masked out by binfmt_misc; kept conventional
    canvas.field(e, "e_ident[EI_ABIVERSION]", 0)  # binfmt_misc: bytes 8-15 must be zero
    canvas.field(e, "e_ident[EI_PAD]", 0)
    canvas.field(e, "e_type", ET_EXEC)  # binfmt_misc: 2 or 3; ET_EXEC maps at p_vaddr
    canvas.field(e, "e_machine", EM_ARM)
    canvas.field(e, "e_entry", BASE + ENTRY + THUMB)  # odd: Thumb (kernel: needs HWCAP_THUMB)
    canvas.field(e, "e_phoff", PHOFF)
    canvas.field(e, "e_shoff", PT_LOAD)  # = p_type; no loader reads section headers
    # e_flags = p_offset: EABI version 0, so Linux checks bits 0x08 and 0x600 (both clear); qemu
    # does not read e_flags for little-endian ARM
    canvas.field(e, "e_flags", 0x34)
    canvas.field(e, "e_ehsize", ELF32_EHDR.size)  # qemu checks it: 52 ...
    canvas.field(e, "e_phentsize", ELF32_PHDR.size)  # ... both loaders check it: 32
    canvas.field(e, "e_phnum", 1)  # = p_paddr, unread
    canvas.field(e, "e_shentsize", 0)
    canvas.field(p, "p_type", PT_LOAD, base=PHOFF)
    canvas.field(p, "p_offset", 0x34, base=PHOFF)
    vaddr = u32(canvas.read(PHOFF + p["p_vaddr"].offset, 4))  # spelled by e_ehsize, e_phentsize
    if vaddr != BASE + 0x34 or vaddr % PAGE != 0x34:
        raise LayoutConflict(f"p_vaddr {vaddr:#x} is not congruent to p_offset 0x34")
    size = t16.halfwords(*SIZE_HALVES)
    canvas.put(PHOFF + p["p_filesz"].offset, size, "ELF32_Phdr.p_filesz")
    # p_memsz = p_filesz: nothing to zero-fill, so no fault past EOF on any loader
    canvas.put(PHOFF + p["p_memsz"].offset, size, "ELF32_Phdr.p_memsz")
    canvas.put(PHOFF + p["p_flags"].offset, t16.halfwords(WRITE), "ELF32_Phdr.p_flags")


def _check_header_run(canvas: Canvas) -> None:
    """The header halfwords 24-47 must be exactly the register moves the docstring lists."""
    expected = [
        (5, 2),
        (0, 4),
        (0, 4),
        (0, 0),
        (1, 0),
        (0, 0),
        (4, 6),
        (0, 0),
        (4, 6),
        (0, 4),
        (1, 0),
        (0, 0),
    ]
    for index, (rd, rm) in enumerate(expected):
        at = 24 + 2 * index
        if canvas.read(at, 2) != t16.halfwords(t16.movs_reg(rd, rm)):
            raise LayoutConflict(f"header halfword at {at} is not movs r{rd}, r{rm}")


if PF_R | PF_X != WRITE & (PF_R | PF_W | PF_X):  # svc #5's low bits must map read + execute
    raise LayoutConflict("svc #5 does not spell PF_R|PF_X")
