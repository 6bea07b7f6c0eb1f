"""x86-64 programs: the program header overlaps the ELF header from e_entry on.

With the program header at offset 24, p_type is the low half of e_entry and p_flags the high
half, so the entry point is (p_flags << 32) | 1: the code starts at file offset 1, where
"ELF" are three REX prefixes; a REX not immediately before the opcode is ignored (Intel SDM
2.2.1), and the first instruction, `lea rsi`, brings its own REX.W. The phdr ends at 80 (the
ELF64 minimum, docs/elf.md); p_align, its last 8 bytes, is where the message starts: 72 + len
bytes, the floor for a contiguous message, padded to 80 for messages under 8 bytes.

 off  ELF header            program header  bytes (embed, len ≤ 255)
   0  e_ident[EI_MAG]                       7f  then 'E' 'L' 'F' = REX prefixes (entry = 1)
   4  e_ident[4..15]                        code: lea rsi, [rip+MSG]; mov dl, LEN; inc edi;
  15                                              cmp eax, imm32
  16  e_type, e_machine                     02 00 3e 00      = the imm32 of `cmp`
  20  e_version                             code: push rbx; push 60; add eax, imm32
  24  e_entry (low)         p_type          01 00 00 00      = the imm32 of `add`: eax = 1
  28  e_entry (high)        p_flags         75 12 00 00      = jnz +0x12 (to 48); PF_R|PF_X
  32  e_phoff               p_offset        24
  40  e_shoff               p_vaddr         BASE + 24
  48  e_flags, e_ehsize     p_paddr         code: syscall; pop rax; pop rdi; syscall
  54  e_phentsize                           38 00
  56  e_phnum, e_sh*        p_filesz        0x10001  (low half = e_phnum = 1)
  64                        p_memsz         0x10001
  72                        p_align         the message

Long messages (len ≥ 256) jump to 72 instead, where `mov edx, LEN` precedes the message
(83 + len). The argv layout scans argv[1] with the same header (80 bytes, the minimum file).
p_filesz = p_memsz: no zero-fill, nothing the `modern` profile could improve.
"""

from __future__ import annotations

from imagegolf.elf.layout import Canvas, LayoutConflict, imm8, imm32
from imagegolf.elf.spec import ELF64_EHDR, ELF64_PHDR, ELF_MAGIC, EM_X86_64, ET_EXEC, PF_R, PF_X, PT_LOAD

PHOFF = 24  # the program header starts at e_entry
MIN_SIZE = PHOFF + ELF64_PHDR.size  # 80: the phdr must lie inside the file
JNZ = 0x75  # p_flags' low byte: jnz rel8; its bits 0 and 2 are PF_X and PF_R
SHORT_MAX = 255  # `mov dl, LEN` holds one byte
SHORT_FILESZ = 0x10001  # low half pinned to 1 by e_phnum; maps 64 KiB, more than the file
LONG_FILESZ = 0x2000001  # 32 MiB: maps any message imagegolf accepts (16 MiB)

# The kernel starts the process with rax..r15 = 0 (ELF_PLAT_INIT): `mov dl, LEN`, `inc edi`,
# `add eax, 1` and `push rbx` (a zero) build on that.
_SKIP_E_TYPE = b"\x3d"  # cmp eax, imm32         ; imm32 = e_type, e_machine: skipped as data
_ADD_P_TYPE = b"\x05"  # add eax, imm32          ; imm32 = p_type = 1: eax = 1 = __NR_write
_PUSH_EXIT_ARGS = b"".join(
    (
        b"\x53",  # push rbx                   ; 0, popped into rdi for exit
        b"\x6a\x3c",  # push 60                ; __NR_exit, popped into rax
    )
)
_WRITE_AND_EXIT = b"".join(
    (
        b"\x0f\x05",  # syscall                ; write(1, MSG, LEN)
        b"\x58",  # pop rax                    ; 60
        b"\x5f",  # pop rdi                    ; 0
        b"\x0f\x05",  # syscall                ; exit(0)
    )
)


def embed(message: bytes) -> bytes:
    """An x86-64 ELF that writes ``message`` to stdout and exits 0."""
    return _embed_short(message) if len(message) <= SHORT_MAX else _embed_long(message)


def argv() -> bytes:
    """An x86-64 ELF that writes its argv[1] (which must be non-empty) to stdout and exits 0."""
    canvas = Canvas()
    _header(canvas, jump_to=48, filesz=SHORT_FILESZ)
    ident = (
        b"\x5e\x5e\x5e",  # pop rsi (x3)       ; argc, argv[0], argv[1]
        b"\xff\xc2",  # L: inc edx             ; edx counts from 1: argv[1] is non-empty
        b"\x38\x3c\x16",  # cmp [rsi+rdx], bh  ; bh = 0
        b"\x75\xf9",  # jnz L
        b"\x53",  # push rbx                   ; 0, popped into rdi for exit
        _SKIP_E_TYPE,
    )
    canvas.put(4, b"".join(ident), "code")  # e_ident[4..15]: the loader reads only the magic
    version = (
        b"\x6a\x3c",  # push 60                ; __NR_exit, popped into rax
        b"\x90",  # nop
        _ADD_P_TYPE,
    )
    canvas.put(20, b"".join(version), "code")  # e_version is not checked by Linux
    flags = (
        b"\xff\xc7",  # inc edi                ; edi = 1: stdout
        b"\xeb\x14",  # jmp 72                 ; over e_phentsize..p_memsz
    )
    canvas.put(48, b"".join(flags), "code")  # e_flags: not read by Linux; p_paddr: ignored
    align = (
        b"\x0f\x05",  # syscall                ; write(1, argv[1], edx)
        b"\x58",  # pop rax                    ; 60
        b"\x5f",  # pop rdi                    ; 0
        b"\x0f\x05",  # syscall                ; exit(0)
    )
    canvas.put(72, b"".join(align), "code")  # p_align: Linux reads it only for ET_DYN
    return canvas.to_bytes(MIN_SIZE)


def _embed_short(message: bytes) -> bytes:
    canvas = Canvas()
    _header(canvas, jump_to=48, filesz=SHORT_FILESZ)
    ident = (
        b"\x48\x8d\x35" + imm32(72 - 11),  # lea rsi, [rip+61] ; MSG at 72
        b"\xb2" + imm8(len(message)),  # mov dl, LEN
        b"\xff\xc7",  # inc edi                ; edi = 1: stdout
        _SKIP_E_TYPE,
    )
    canvas.put(4, b"".join(ident), "code")  # e_ident[4..15]: the loader reads only the magic
    canvas.put(20, _PUSH_EXIT_ARGS + _ADD_P_TYPE, "code")  # e_version is not checked by Linux
    canvas.put(48, _WRITE_AND_EXIT, "code")  # e_flags, e_ehsize: not read; p_paddr: ignored
    canvas.put(72, message, "message")  # p_align: Linux reads it only for ET_DYN
    return canvas.to_bytes(max(72 + len(message), MIN_SIZE))


def _embed_long(message: bytes) -> bytes:
    canvas = Canvas()
    _header(canvas, jump_to=72, filesz=LONG_FILESZ)
    ident = (
        b"\x48\x8d\x35" + imm32(83 - 11),  # lea rsi, [rip+72] ; MSG at 83
        b"\xff\xc7",  # inc edi                ; edi = 1: stdout
        b"\x90\x90",  # nop (x2)
        _SKIP_E_TYPE,
    )
    canvas.put(4, b"".join(ident), "code")  # e_ident[4..15]: the loader reads only the magic
    canvas.put(20, _PUSH_EXIT_ARGS + _ADD_P_TYPE, "code")  # e_version is not checked by Linux
    length = b"\xba" + imm32(len(message))  # mov edx, LEN
    canvas.put(72, length + _WRITE_AND_EXIT, "code")  # p_align: read only for ET_DYN
    canvas.put(83, message, "message")
    return canvas.to_bytes()


def _header(canvas: Canvas, *, jump_to: int, filesz: int) -> None:
    """The header every x86-64 layout shares: entry at offset 1, a jnz in p_flags to ``jump_to``."""
    e, p = ELF64_EHDR, ELF64_PHDR
    flags = JNZ | (jump_to - 30) << 8  # jnz at 28..29 is taken: `add eax, 1` left ZF clear
    base = flags << 32  # page-aligned: entry = base + 1 = (p_flags << 32) | p_type
    if flags & (PF_R | PF_X) != PF_R | PF_X:
        raise LayoutConflict("p_flags lacks PF_R|PF_X: x86-64 needs PF_X")
    canvas.put(0, ELF_MAGIC, "e_ident[EI_MAG]")  # the loader reads only the magic of e_ident
    canvas.field(e, "e_type", ET_EXEC)  # ET_EXEC maps at p_vaddr
    canvas.field(e, "e_machine", EM_X86_64)
    canvas.field(p, "p_type", PT_LOAD, base=PHOFF)
    canvas.field(p, "p_flags", flags, base=PHOFF)  # only PF_R/PF_W/PF_X are looked at
    canvas.field(e, "e_entry", base + 1)  # the same 8 bytes as p_type, p_flags
    canvas.field(e, "e_phoff", PHOFF)
    canvas.field(p, "p_offset", PHOFF, base=PHOFF)  # ≡ p_vaddr (mod page): maps file offset 0
    canvas.field(p, "p_vaddr", base + PHOFF, base=PHOFF)  # = e_shoff, which Linux ignores
    canvas.field(e, "e_phentsize", ELF64_PHDR.size)  # must be exactly 56
    canvas.field(e, "e_phnum", 1)  # = the low half of p_filesz
    canvas.field(p, "p_filesz", filesz, base=PHOFF)
    canvas.field(p, "p_memsz", filesz, base=PHOFF)  # = p_filesz: the loader zero-fills nothing
