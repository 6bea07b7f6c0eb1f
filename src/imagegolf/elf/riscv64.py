"""riscv64 programs: an ELF64 header that three loaders accept, with RVC code in its free bytes.

Three parties read a riscv64 file, and each must accept every byte of it:

- Linux's ELF loader (docs/elf.md); arch/riscv's elf_check_arch also wants EI_CLASS = 2. It
  does not read e_flags (the float ABI and RVC bits are a linker matter).
- qemu-riscv64 (linux-user/elfload.c): EI_CLASS = 2, EI_DATA = 1, EI_VERSION = 1,
  e_ehsize = 64, e_phentsize = 56. Its only use of e_flags is to refuse a non-RVE binary on an
  RVE CPU (linux-user/riscv/cpu_loop.c); the default CPU (rv64gc) is not RVE.
- binfmt_misc (qemu-riscv64): the first 20 bytes match `7f454c460201010000000000000000000200f300`
  under `ffffffffffffff00fffffffffffffffffeffffff`: bytes 8-15 zero, e_type 2 or 3, e_machine 243.

As on arm64 (arm64.py), the program header can only start at e_phnum (56), so the file is at
least 112 bytes. All-zero halfwords are illegal instructions, so the code is chained with c.j
between the runs of free bytes; p_offset's low word is itself `ecall` (0x73, < 4096), which
sets p_vaddr = BASE + 0x73 (congruent modulo the page).

 off  ELF header           program header  contents (embed)
   0  e_ident[0..6]        -               7f 'E' 'L' 'F' 02 01 01  (binfmt: exact; qemu: checked)
   7  e_ident[EI_OSABI]                    00                       (binfmt mask 00; unread)
   8  e_ident[8..15]                       00 x 8                   (binfmt: must be zero)
  16  e_type, e_machine                    02 00 f3 00
  20  e_version                            1
  24  e_entry                              BASE + 104
  32  e_phoff                              56
  40  e_shoff              -               c.li a0, 1; li a7, 64; ecall (write) (first half)
  48  e_flags              -               ecall (second half); c.j 60    (neither loader reads)
  52  e_ehsize,e_phentsize                 40 00 38 00
  56  e_phnum, e_shentsize p_type          01 00 00 00 = PT_LOAD
  60  e_shnum, e_shstrndx  p_flags         c.addi a7, 29 (0x08f5: PF_R|PF_X); c.li a0, 0
  64                       p_offset        ecall (exit) = 0x73, then 0
  72                       p_vaddr         BASE + 0x73
  80                       p_paddr         lui a2, LEN_HI; addi a2, a2, LEN_LO
  88                       p_filesz        c.j 40; 0x0200: p_filesz = 0x0200xxxx (~32 MiB)
  96                       p_memsz         = p_filesz
 104                       p_align         auipc a1, 0; c.addi a1, 8; c.j 80   <- entry
 112                                       the message

Run order: 104 auipc a1 (= BASE + 104); 108 c.addi a1, 8 (MSG); 110 c.j 80; 80 lui a2;
84 addi a2 (LEN); 88 c.j 40; 40 c.li a0, 1; 42 li a7, 64; 46 ecall = write(1, MSG, LEN);
50 c.j 60; 60 c.addi a7, 29 (93 = exit); 62 c.li a0, 0; 64 ecall = exit(0).
No register is assumed zero at entry: every argument is set.

112 + len bytes for every length up to MAX_MESSAGE (lui + addi load any LEN < 2 GiB). 112 is
the floor of any riscv64 layout that qemu and binfmt_misc accept: the program header cannot
start before 56 (arm64.py's argument holds for every ELF64 file) and must lie in the file; only
p_align (104) could hold message bytes, but qemu reads it to pick its page size, and the code
needs its 8 bytes anyway.
"""

from __future__ import annotations

from imagegolf.elf import rv64
from imagegolf.elf.layout import Canvas, LayoutConflict
from imagegolf.elf.spec import (
    ELF64_EHDR,
    ELF64_PHDR,
    ELF_MAGIC,
    ELFCLASS64,
    ELFDATA2LSB,
    EM_RISCV,
    ET_EXEC,
    EV_CURRENT,
    PAGE,
    PF_R,
    PF_W,
    PF_X,
    PT_LOAD,
)
from imagegolf.errors import UsageError

PHOFF = 56  # the program header starts at e_phnum
BASE = 0x10000  # file offset 0 maps here; vm.mmap_min_addr is often 65536
ENTRY = 104  # p_align: read by Linux only for ET_DYN
P_OFFSET = rv64.ECALL  # 0x73: p_offset's low word is the exit ecall
MESSAGE = PHOFF + ELF64_PHDR.size  # 112
SIZE_HIGH = 0x0200  # p_filesz's second halfword: the mapping covers 32 MiB > MAX_MESSAGE
__NR_write, __NR_exit = 64, 93

EXIT_NUMBER = rv64.c_addi(rv64.A7, __NR_exit - __NR_write)  # c.addi a7, 29: also p_flags
if EXIT_NUMBER & (PF_R | PF_W | PF_X) != PF_R | PF_X:
    raise LayoutConflict("c.addi a7, 29 does not spell PF_R|PF_X in its low bits")
if P_OFFSET >= PAGE:
    raise LayoutConflict("p_offset must stay in the first page (the header holds the code)")


def build_embed(message: bytes) -> bytes:
    """A riscv64 (RV64GC) ELF that writes ``message`` to stdout and exits 0."""
    if not message:
        raise UsageError("the message is empty", hint="give at least one byte to print")
    hi, lo = rv64.li_parts(len(message))
    canvas = Canvas()
    _header(canvas)
    # p_align (ET_EXEC: unread by Linux; qemu only picks its page size from it): the entry
    canvas.put(ENTRY, rv64.put32(rv64.auipc(rv64.A1, 0)), "code")  # auipc a1, 0
    canvas.put(108, rv64.put16(rv64.c_addi(rv64.A1, MESSAGE - ENTRY), rv64.c_j(80 - 110)), "code")
    # p_paddr: ignored by both loaders
    canvas.put(80, rv64.put32(rv64.lui(rv64.A2, hi), rv64.addi(rv64.A2, rv64.A2, lo)), "code")
    # e_shoff and e_flags: read by neither loader for riscv64
    canvas.put(40, rv64.put16(rv64.c_li(rv64.A0, 1)), "code")  # c.li a0, 1   ; stdout
    canvas.put(42, rv64.put32(rv64.addi(rv64.A7, rv64.ZERO, __NR_write), rv64.ECALL), "code")
    canvas.put(50, rv64.put16(rv64.c_j(60 - 50)), "code")  # c.j 60
    # p_flags's second halfword: ignored bits
    canvas.put(62, rv64.put16(rv64.c_li(rv64.A0, 0)), "code")  # c.li a0, 0 ; exit status
    canvas.put(MESSAGE, message, "message")
    return canvas.to_bytes()


def _header(canvas: Canvas) -> None:
    """Every checked field, and the program header from e_phnum on."""
    e, p = ELF64_EHDR, ELF64_PHDR
    canvas.put(0, ELF_MAGIC, "e_ident[EI_MAG]")
    canvas.field(e, "e_ident[EI_CLASS]", ELFCLASS64)  # Linux (riscv), qemu and binfmt check it
    canvas.field(e, "e_ident[EI_DATA]", ELFDATA2LSB)  # qemu-user and binfmt_misc check 5-6
    canvas.field(e, "e_ident[EI_VERSION]", EV_CURRENT)
    canvas.field(e, "e_ident[EI_OSABI]", 0)  # masked out by binfmt_misc; kept conventional
    canvas.field(e, "e_ident[EI_ABIVERSION]", 0)  # binfmt_misc: bytes 8-15 must be zero
    canvas.field(e, "e_ident[EI_PAD]", 0)
    canvas.field(e, "e_type", ET_EXEC)  # binfmt_misc: 2 or 3; ET_EXEC maps at p_vaddr
    canvas.field(e, "e_machine", EM_RISCV)
    canvas.field(e, "e_version", EV_CURRENT)  # conventional: no code fits a dead end here
    canvas.field(e, "e_entry", BASE + ENTRY)
    canvas.field(e, "e_phoff", PHOFF)
    canvas.field(e, "e_ehsize", ELF64_EHDR.size)  # qemu checks it: 64 ...
    canvas.field(e, "e_phentsize", ELF64_PHDR.size)  # ... both loaders check it: 56
    canvas.field(e, "e_phnum", 1)  # with e_shentsize = 0: p_type = PT_LOAD
    canvas.field(e, "e_shentsize", 0)
    canvas.field(p, "p_type", PT_LOAD, base=PHOFF)
    # p_flags = e_shnum: loaders read only its PF_R/PF_W/PF_X bits
    canvas.put(PHOFF + p["p_flags"].offset, rv64.put16(EXIT_NUMBER), "ELF64_Phdr.p_flags")
    # p_offset ≡ p_vaddr (mod page): file offset 0 maps at BASE; its low word is `ecall`
    canvas.field(p, "p_offset", P_OFFSET, base=PHOFF)
    canvas.field(p, "p_vaddr", BASE + P_OFFSET, base=PHOFF)
    size = rv64.c_j(40 - 88) | SIZE_HIGH << 16  # c.j 40, then the halfword that sizes it
    canvas.field(p, "p_filesz", size, base=PHOFF)  # > file size: mapping past EOF is allowed
    canvas.field(p, "p_memsz", size, base=PHOFF)  # = p_filesz: nothing to zero-fill
