"""i386 programs: Brian Raiter's "teensy" header, with the code living in its fields.

The program header starts at offset 4, inside e_ident, so the two headers share 32 bytes. The
code begins at e_version (the entry point), runs through e_entry, whose value is chosen so its
four bytes are instructions too, and ends in the section-header fields the loader never reads.
The message follows the header: 48 + len bytes, one instruction (`int 0x80`, 2 bytes) above
the 46 + len floor of a contiguous message (docs/elf.md).

 off  ELF header             program header  bytes (embed, len ≤ 255)
   0  e_ident[EI_MAG]                        7f 'E' 'L' 'F'
   4  e_ident[4..7]          p_type          01 00 00 00       PT_LOAD
   8  e_ident[8..11]         p_offset        o                 page offset of p_vaddr
  12  e_ident[12..15]        p_vaddr         BASE + o
  16  e_type, e_machine      p_paddr         02 00 03 00       ET_EXEC, EM_386
  20  e_version              p_filesz        code: inc esi; mov dl, LEN; push es
  24  e_entry                p_memsz         BASE + 20 = code: adc al, 0; inc ebx; or eax, imm32
  28  e_phoff                p_flags         04 00 00 00       = the imm32 of `or`: eax = 4
  32  e_shoff, e_flags,                      code: mov ecx, MSG; int 0x80; dec ebx;
      e_ehsize                                     xchg eax, esi; cmp eax, imm32
  42  e_phentsize, e_phnum                   20 00 01 00       = the imm32 of `cmp`
  46  e_shentsize..                          code: int 0x80
  48                                         the message

The long-message layout (len ≥ 256) puts `mov edx, LEN` after e_phnum (57 + len); the argv
layout keeps the same header and reads argv[1] instead (50 bytes, no message in the file).

Exit paths (after `int 0x80` has written: eax = bytes written, ebx = 1), one per profile:

- portable, 72 / 50 bytes: `dec ebx; xchg eax, esi` (esi = 1 from the entry) or `xchg eax, ebx;
  mov bl, 0`, then `int 0x80` past e_phentsize and e_phnum.
- record argv, 49 bytes (``argv_masked``): `dec ebx`, then `and eax, imm32` whose imm32 is
  e_phentsize, e_phnum = 0x00010020, then `inc eax`: eax = 1 when LEN & 0x10020 = 0 (24 ✓, 32 ✗).
- any-exit, 70 / 48 bytes (``embed_any_exit``, ``argv_any_exit``): `xchg eax, ebx` alone gives
  eax = 1 = __NR_exit and ebx = LEN, so the status is LEN mod 256. The embed exit then fits before
  e_phentsize and the message starts at 46: 46 + len, the floor of this header.

p_filesz (the code at offset 20) is smaller than p_memsz; p_offset is picked so that
p_vaddr + p_filesz is page-aligned, which leaves the loader's zero-fill nothing to do: the
layouts are portable to loaders that abort when that zero-fill faults (docs/elf.md), so the
`modern` profile has nothing to gain here and builds the same bytes.
"""

from __future__ import annotations

from imagegolf.elf.layout import Canvas, LayoutConflict, imm8, imm32, page_offset_for, u32
from imagegolf.elf.spec import ELF32_EHDR, ELF32_PHDR, ELF_MAGIC, EM_386, ET_EXEC, PF_R, PT_LOAD

PHOFF = 4  # the program header starts inside e_ident
ENTRY_OFFSET = 20  # the code starts at e_version
# The kernel starts an ia32 process with every general register 0 and EFLAGS = IF (CF = 0);
# `mov dl, LEN`, `inc ebx` and `or eax, 4` below build on those zeros.
ENTRY_CODE = (  # e_entry = p_memsz: the entry address is code
    b"\x14\x00"  # adc al, 0            ; al += CF = 0: a no-op spelling the address' low bytes
    b"\x43"  # inc ebx                  ; ebx = 1: stdout
    b"\x0d"  # or eax, imm32            ; imm32 = e_phoff = 4: eax = 4 = __NR_write
)
ENTRY = u32(ENTRY_CODE)  # 0x0d430014
BASE = ENTRY - ENTRY_OFFSET  # 0x0d430000: where the file's first byte is mapped
SHORT_MAX = 255  # `mov dl, LEN` holds one byte


def embed(message: bytes) -> bytes:
    """An i386 ELF that writes ``message`` to stdout and exits 0."""
    return _embed_short(message) if len(message) <= SHORT_MAX else _embed_long(message)


def argv() -> bytes:
    """An i386 ELF that writes its argv[1] (which must be non-empty) to stdout and exits 0."""
    canvas = Canvas()
    _teensy(canvas, b"\x8b\x4c\x24\x08", size=50)  # mov ecx, [esp+8]  ; argv[1]
    code = (
        b"\x42",  # L: inc edx               ; edx counts from 1: argv[1] is non-empty
        b"\x38\x3c\x11",  # cmp [ecx+edx], bh  ; bh = 0 (ebx = 1)
        b"\x75\xfa",  # jnz L
        b"\xcd\x80",  # int 0x80               ; write(1, argv[1], edx)
        b"\x93",  # xchg eax, ebx              ; eax = 1 = __NR_exit, ebx = bytes written
        b"\x3d",  # cmp eax, imm32             ; imm32 = e_phentsize, e_phnum: skipped as data
    )
    canvas.put(32, b"".join(code), "code")
    exit_code = (
        b"\xb3\x00",  # mov bl, 0              ; exit status = ebx & 0xff = 0
        b"\xcd\x80",  # int 0x80               ; exit
    )
    canvas.put(46, b"".join(exit_code), "code")  # e_shentsize..: not read by the loader
    return canvas.to_bytes()


def argv_masked() -> bytes:
    """49 bytes: like ``argv`` with a one-byte-shorter exit that needs LEN & 0x10020 = 0."""
    canvas = Canvas()
    _teensy(canvas, b"\x8b\x4c\x24\x08", size=49)  # mov ecx, [esp+8]  ; argv[1]
    canvas.put(32, _STRLEN_WRITE, "code")  # e_shoff, e_flags: not read by the loader
    canvas.put(
        40,
        b"\x4b"  # dec ebx                         ; ebx = 0: exit status
        b"\x25",  # and eax, imm32                 ; imm32 = e_phentsize, e_phnum = 0x00010020, the
        "code",  # values binfmt_elf.c requires: eax = write's LEN & 0x10020 = 0 (the condition)
    )
    canvas.put(46, b"\x40\xcd\x80", "code: inc eax; int 0x80")  # exit(0): eax = 1 = __NR_exit
    return canvas.to_bytes()


def argv_any_exit() -> bytes:
    """48 bytes: writes argv[1] and exits with status LEN mod 256 (judge --exit any)."""
    canvas = Canvas()
    _teensy(canvas, b"\x8b\x4c\x24\x08", size=48)  # mov ecx, [esp+8]  ; argv[1]
    canvas.put(32, _STRLEN_WRITE, "code")
    canvas.put(
        40,
        b"\x93"  # xchg eax, ebx                   ; eax = 1 = __NR_exit, ebx = LEN: the status is
        b"\x3d",  # cmp eax, imm32                  ; LEN & 0xff (kernel/exit.c, sys_exit)
        "code",  # the imm32 is e_phentsize, e_phnum: skipped as data
    )
    canvas.put(46, b"\xcd\x80", "code: int 0x80")  # exit(LEN)
    return canvas.to_bytes()


def embed_any_exit(message: bytes) -> bytes:
    """46 + len bytes (56 + len from 256): writes ``message``, exits with status LEN mod 256."""
    canvas = Canvas()
    if len(message) <= SHORT_MAX:
        # nop; mov dl, LEN; push es: the push es opcode 06 keeps p_filesz below p_memsz
        _teensy(canvas, b"\x90\xb2" + imm8(len(message)) + b"\x06", size=46 + len(message))
        code = (
            b"\xb9" + imm32(BASE + 46),  # mov ecx, MSG
            b"\xcd\x80",  # int 0x80             ; write(1, MSG, LEN)
            b"\x93",  # xchg eax, ebx              ; eax = ebx = 1 = __NR_exit, ebx = LEN
            b"\xcd\x80",  # int 0x80             ; exit(LEN & 0xff), just before e_phentsize
        )
        canvas.put(32, b"".join(code), "code")  # e_shoff, e_flags, e_ehsize: not read
        canvas.put(46, message, "message")  # right after e_phnum: the header's floor
        return canvas.to_bytes()
    _teensy(canvas, b"\x90\x06\x06\x06", size=56 + len(message))  # fillers below 0d
    canvas.put(32, b"\xb9" + imm32(BASE + 56) + b"\x90" * 4 + b"\x3d", "code")  # ..cmp: skip 42..45
    tail = (
        b"\xba" + imm32(len(message)),  # mov edx, LEN
        b"\xcd\x80",  # int 0x80                 ; write(1, MSG, LEN)
        b"\x93",  # xchg eax, ebx                  ; eax = 1, ebx = LEN
        b"\xcd\x80",  # int 0x80                 ; exit(LEN mod 256)
    )
    canvas.put(46, b"".join(tail), "code")
    canvas.put(56, message, "message")
    return canvas.to_bytes()


_STRLEN_WRITE = b"".join(
    (
        b"\x42",  # L: inc edx                    ; edx counts from 1: argv[1] is non-empty
        b"\x38\x3c\x11",  # cmp [ecx+edx], bh    ; bh = 0 (ebx = 1)
        b"\x75\xfa",  # jnz L
        b"\xcd\x80",  # int 0x80                 ; write(1, argv[1], edx)
    )
)


def _embed_short(message: bytes) -> bytes:
    canvas = Canvas()
    first = (
        b"\x46",  # inc esi                    ; esi = 1, the exit's eax (xchg below)
        b"\xb2" + imm8(len(message)),  # mov dl, LEN
        b"\x06",  # push es                    ; filler whose opcode 06 is below e_entry's top
    )  #                                          byte 0d, so p_filesz ≤ p_memsz (else -EINVAL)
    _teensy(canvas, b"".join(first), size=48 + len(message))
    code = (
        b"\xb9" + imm32(BASE + 48),  # mov ecx, MSG
        b"\xcd\x80",  # int 0x80               ; write(1, MSG, LEN)
        b"\x4b",  # dec ebx                    ; ebx = 0: exit status
        b"\x96",  # xchg eax, esi              ; eax = 1 = __NR_exit
        b"\x3d",  # cmp eax, imm32             ; imm32 = e_phentsize, e_phnum: skipped as data
    )
    canvas.put(32, b"".join(code), "code")  # e_shoff, e_flags, e_ehsize: not read by the loader
    canvas.put(46, b"\xcd\x80", "code: int 0x80")  # e_shentsize..: not read by the loader
    canvas.put(48, message, "message")
    return canvas.to_bytes()


def _embed_long(message: bytes) -> bytes:
    canvas = Canvas()
    first = (
        b"\x46",  # inc esi                    ; esi = 1, the exit's eax
        b"\x06\x06\x06",  # push es (x3)        ; fillers below 0d: p_filesz ≤ p_memsz
    )
    _teensy(canvas, b"".join(first), size=57 + len(message))
    code = (
        b"\xb9" + imm32(BASE + 57),  # mov ecx, MSG
        b"\x90\x90\x90\x90",  # nop (x4)          ; mov edx, imm32 needs 5 bytes
        b"\x3d",  # cmp eax, imm32             ; imm32 = e_phentsize, e_phnum: skipped as data
    )
    canvas.put(32, b"".join(code), "code")  # e_shoff, e_flags, e_ehsize: not read by the loader
    tail = (
        b"\xba" + imm32(len(message)),  # mov edx, LEN
        b"\xcd\x80",  # int 0x80               ; write(1, MSG, LEN)
        b"\x4b",  # dec ebx                    ; ebx = 0: exit status
        b"\x96",  # xchg eax, esi              ; eax = 1 = __NR_exit
        b"\xcd\x80",  # int 0x80               ; exit
    )
    canvas.put(46, b"".join(tail), "code")  # e_shentsize..: not read by the loader
    canvas.put(57, message, "message")
    return canvas.to_bytes()


def _teensy(canvas: Canvas, filesz_code: bytes, *, size: int) -> None:
    """The header every i386 layout shares; ``filesz_code`` is the first code (offsets 20..23)."""
    e, p = ELF32_EHDR, ELF32_PHDR
    filesz = u32(filesz_code)
    offset = page_offset_for(filesz)  # p_vaddr + p_filesz page-aligned: zero-fill is a no-op
    if filesz > ENTRY:
        raise LayoutConflict("p_filesz > p_memsz: the loader rejects the file")
    if offset + filesz < size:
        raise LayoutConflict("p_filesz does not map the whole file")
    canvas.put(0, ELF_MAGIC, "e_ident[EI_MAG]")
    canvas.field(p, "p_type", PT_LOAD, base=PHOFF)  # e_ident[4..]: the loader reads only the magic
    canvas.field(p, "p_offset", offset, base=PHOFF)  # ≡ p_vaddr (mod page): maps file offset 0
    canvas.field(p, "p_vaddr", BASE + offset, base=PHOFF)
    canvas.field(e, "e_type", ET_EXEC)  # ET_EXEC maps at p_vaddr; e_type..e_machine = p_paddr,
    canvas.field(e, "e_machine", EM_386)  # which Linux ignores
    canvas.put(ENTRY_OFFSET, filesz_code, "code")  # e_version is not checked by Linux
    canvas.field(p, "p_filesz", filesz, base=PHOFF)  # > file size: mapping past EOF is allowed
    canvas.put(24, ENTRY_CODE, "code")
    canvas.field(e, "e_entry", ENTRY)
    canvas.field(p, "p_memsz", ENTRY, base=PHOFF)  # only p_filesz ≤ p_memsz < TASK_SIZE is checked
    canvas.field(e, "e_phoff", PHOFF)
    # p_flags = 4 = PF_R only: an ia32 binary without PT_GNU_STACK gets READ_IMPLIES_EXEC
    canvas.field(p, "p_flags", PF_R, base=PHOFF)
    canvas.field(e, "e_phentsize", ELF32_PHDR.size)  # must be exactly 32
    canvas.field(e, "e_phnum", 1)
    # p_align (offsets 32..35) holds code: Linux reads p_align only for ET_DYN
