"""mips64le programs: an ELF64 little-endian n64 header run straight through as code.

Three parties read the file, and each must accept every byte of it:

- Linux's ELF loader (docs/elf.md): the magic, e_type, e_machine (8), e_phentsize = 56,
  e_phnum and the program header, which must lie inside the file; the n64 elf_check_arch also
  wants EI_CLASS = 2 and reads nothing of e_flags but the n32 bit (EF_MIPS_ABI2, 0x20).
- qemu-user (linux-user/elfload.c, 7.2): EI_CLASS = 2, EI_DATA = 1, EI_VERSION = 1,
  e_ehsize = 64, e_phentsize = 56, and elf_check_abi: e_flags & EF_MIPS_ABI2 = 0 for n64.
  target_cpu_copy_regs then refuses EF_MIPS_NAN2008 (0x400) on the default CPU, and
  EF_MIPS_ARCH = 64R6 (0xa0000000) would select an R6 CPU: both bits are clear here.
- binfmt_misc (qemu-mips64el): magic `7f454c4602010100000000000000000002000800` under mask
  `ffffffffffffff00fefffffffffffffffeffffff`: bytes 0-6 exact, EI_OSABI free, EI_ABIVERSION
  0|1, bytes 9-15 zero, e_type 2|3, e_machine 8.

On MIPS the zero word is `nop` (sll $0,$0,0), and most fixed header words are shifts into $0:
execution runs straight from e_version to the message with no branch (so no delay slot).
e_flags is itself an instruction, `lui $a1, 1`: 0x3c050001 = EF_MIPS_ARCH_4 (MIPS IV, a 64-bit
ISA) with EF_MIPS_ABI2 and EF_MIPS_NAN2008 clear (and the EF_MIPS_ABI field 0: no o32/o64).

 off  ELF header           program header  word         as code
   0  e_ident[0..7]                                     (not executed)
   8  e_ident[8..15]                       0, 0         nop, nop
  16  e_type, e_machine                    0x00080002   srl $0,$8,0: writes $zero
  20  e_version                            ori $a0,$zero,1          <- entry (unread field)
  24  e_entry                              0x00010014   dsllv $0,$1,$0 (BASE + 20); 28: nop
  32  e_phoff                              0x38         dsll $0,$0,0; 36: nop
  40  e_shoff                              ori $a2,$zero,LEN ; ori $v0,$zero,5001 (unread)
  48  e_flags                              lui $a1,1    $a1 = BASE
  52  e_ehsize, e_phentsize                0x00380040   sll $0,$24,1: writes $zero
  56  e_phnum, e_shentsize p_type          1            movf $0,$0,$fcc0: writes $zero
  60  e_shnum, e_shstrndx  p_flags         0x25 = PF_R|PF_X + ignored bits: or $0,$0,$0
  64                       p_offset        0            nop, nop
  72                       p_vaddr         BASE = 0x10000: sll $0,$1,0; 76: nop
  80                       p_paddr         ori $a1,$a1,112 ; syscall    (write(1, MSG, LEN))
  88                       p_filesz        ori $v0,$zero,5058 = 0x340213c2 (872 MB, past EOF)
  96                       p_memsz         the same word: runs twice; 92, 100: nop
 104                       p_align         or $a0,$zero,$zero ; syscall (exit(0))
 112                                       the message

112 + len bytes for 1 <= len <= 65535 (ori's 16-bit immediate): the floor for this program
header (it starts at e_phnum, 56, the first offset that spells PT_LOAD next to the fixed
bytes, and must lie in the file), so nothing is spent on code. From 65536 bytes: LEN comes
from lui/ori, p_filesz/p_memsz become `ori $zero,$zero,0xffff` (a no-op, 872 MB) and the exit
moves past the header: 120 + len.
"""

from __future__ import annotations

from imagegolf.elf.layout import Canvas, LayoutConflict
from imagegolf.elf.spec import (
    EF_MIPS_ABI,
    EF_MIPS_ABI2,
    EF_MIPS_ARCH,
    EF_MIPS_ARCH_64R6,
    EF_MIPS_NAN2008,
    ELF64_EHDR,
    ELF64_PHDR,
    ELF_MAGIC,
    ELFCLASS64,
    ELFDATA2LSB,
    EM_MIPS,
    ET_EXEC,
    EV_CURRENT,
    MAX_PAGE,
    PF_R,
    PF_W,
    PF_X,
    PT_LOAD,
)
from imagegolf.errors import UsageError

PHOFF = 56
BASE = 0x10000  # >= vm.mmap_min_addr, 64 KiB-aligned; `lui $a1, 1` loads it
ENTRY = 20
SHORT_MESSAGE = 112
LONG_MESSAGE = 120
ORI_MAX = 0xFFFF
__NR_write, __NR_exit = 5001, 5058  # n64 numbers
ZERO, V0, A0, A1, A2 = 0, 2, 4, 5, 6

SYSCALL = 0x0000000C
NOP = 0


def ori(rt: int, rs: int, imm: int) -> int:
    if not 0 <= imm <= 0xFFFF:
        raise LayoutConflict(f"ori: {imm} does not fit 16 bits")
    return 0x0D << 26 | rs << 21 | rt << 16 | imm


def lui(rt: int, imm: int) -> int:
    if not 0 <= imm <= 0xFFFF:
        raise LayoutConflict(f"lui: {imm} does not fit 16 bits")
    return 0x0F << 26 | rt << 16 | imm


def or_(rd: int, rs: int, rt: int) -> int:
    return rs << 21 | rt << 16 | rd << 11 | 0x25


def words(*instructions: int) -> bytes:
    return b"".join(word.to_bytes(4, "little") for word in instructions)


def _check_flags(flags: int) -> None:
    if flags & (EF_MIPS_ABI2 | EF_MIPS_NAN2008 | EF_MIPS_ABI):
        raise LayoutConflict(f"e_flags {flags:#x} is not n64 with legacy NaN")
    if flags & EF_MIPS_ARCH == EF_MIPS_ARCH_64R6:
        raise LayoutConflict(f"e_flags {flags:#x} asks for an R6 CPU")


def build_embed(message: bytes) -> bytes:
    """A mips64le (n64) ELF that writes ``message`` to stdout and exits 0."""
    if not message:
        raise UsageError("the message is empty", hint="give at least one character to print")
    length = len(message)
    if length >= 1 << 31:
        raise UsageError("the message is too long", hint="keep it below 2 GiB")
    short = length <= ORI_MAX
    msg = SHORT_MESSAGE if short else LONG_MESSAGE
    e, p = ELF64_EHDR, ELF64_PHDR
    flags = lui(A1, BASE >> 16)  # e_flags: $a1 = BASE
    _check_flags(flags)
    # p_filesz = p_memsz: a 32-bit instruction word that also maps far past EOF
    filesz = ori(V0, ZERO, __NR_exit) if short else ori(ZERO, ZERO, 0xFFFF)
    if BASE % MAX_PAGE or BASE < 0x10000:
        raise LayoutConflict("BASE must be 64 KiB-aligned and above vm.mmap_min_addr")
    c = Canvas()
    c.put(0, ELF_MAGIC, "e_ident[EI_MAG]")
    c.field(e, "e_ident[EI_CLASS]", ELFCLASS64)  # qemu-user, binfmt_misc and Linux check it
    c.field(e, "e_ident[EI_DATA]", ELFDATA2LSB)  # qemu-user and binfmt_misc check bytes 5-6
    c.field(e, "e_ident[EI_VERSION]", EV_CURRENT)
    c.field(e, "e_ident[EI_OSABI]", 0)  # masked out by binfmt_misc
    c.field(e, "e_ident[EI_ABIVERSION]", 0)  # binfmt_misc: 0 or 1; 8-15 run as two nops
    c.field(e, "e_ident[EI_PAD]", 0)  # binfmt_misc: must be zero
    c.field(e, "e_type", ET_EXEC)  # binfmt_misc: 2 or 3; ET_EXEC maps at p_vaddr
    c.field(e, "e_machine", EM_MIPS)  # 0x00080002 at 16: srl $0,$8,0, harmless if run
    c.field(e, "e_entry", BASE + ENTRY)  # low word dsllv $0,$1,$0, high word nop
    c.field(e, "e_phoff", PHOFF)  # 0x38: dsll $0,$0,0
    c.field(e, "e_flags", flags)  # Linux and qemu read only ABI2 / NAN2008 / ARCH of it
    c.field(e, "e_ehsize", e.size)  # qemu-user checks it; with e_phentsize: sll $0,$24,1
    c.field(e, "e_phentsize", p.size)  # both check it: 56
    c.field(e, "e_phnum", 1)  # with e_shentsize = 0: p_type = PT_LOAD (movf $0,$0,$fcc0)
    c.field(e, "e_shentsize", 0)  # neither loader checks it
    c.field(p, "p_type", PT_LOAD, base=PHOFF)
    # p_flags = e_shnum, e_shstrndx (unread): 0x25 is `or $0,$0,$0`; loaders keep only R|W|X
    c.field(p, "p_flags", or_(ZERO, ZERO, ZERO), base=PHOFF)
    if or_(ZERO, ZERO, ZERO) & (PF_R | PF_W | PF_X) != PF_R | PF_X:
        raise LayoutConflict("p_flags does not map read + execute")
    c.field(p, "p_offset", 0, base=PHOFF)  # ≡ p_vaddr (mod page): maps file offset 0; nops
    c.field(p, "p_vaddr", BASE, base=PHOFF)  # 0x00010000: sll $0,$1,0
    c.field(p, "p_filesz", filesz, base=PHOFF)  # > file size: mapping past EOF is allowed
    c.field(p, "p_memsz", filesz, base=PHOFF)  # = p_filesz: nothing to zero-fill
    write_args = words(ori(A0, ZERO, 1))  # e_version: read by neither Linux nor qemu-user
    c.put(20, write_args, "code: ori $a0, $zero, 1")
    if short:
        # e_shoff: no loader reads it to execute a file (qemu only to log symbols)
        c.put(40, words(ori(A2, ZERO, length), ori(V0, ZERO, __NR_write)), "code: $a2, $v0")
        c.put(80, words(ori(A1, A1, msg), SYSCALL), "code: ori $a1; syscall")  # p_paddr
        c.put(104, words(or_(A0, ZERO, ZERO), SYSCALL), "code: exit(0)")  # p_align: ET_EXEC
    else:
        c.put(40, words(lui(A2, length >> 16), ori(V0, ZERO, __NR_write)), "code: $a2, $v0")
        c.put(80, words(ori(A1, A1, msg), ori(A2, A2, length & 0xFFFF)), "code: $a1, $a2")
        c.put(
            104,
            words(SYSCALL, ori(V0, ZERO, __NR_exit), or_(A0, ZERO, ZERO), SYSCALL),
            "code: write; exit(0)",  # p_align (unread for ET_EXEC), then past the header
        )
    c.put(msg, message, "message")
    return c.to_bytes()
