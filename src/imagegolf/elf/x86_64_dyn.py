"""x86-64 programs in the smallest ELF64 family known: ET_DYN with the program header at 0xC.

lm978, "Cramming a Tiny Program into a Tiny ELF File" (tmp.0ut vol. 3), found that with
e_type = ET_DYN the program header fits at offset 12. Every header byte then has a fixed role:

 off  ELF header                    program header (at 0xC)          bytes
   0  e_ident[EI_MAG]                                                7f 'E' 'L' 'F' = jg 0x47 (entry)
   4  e_ident[4..11]                                                 free: 8 bytes (gVisor: 02 01 01 + 5)
  12  e_ident[12..15]               p_type                           01 00 00 00  PT_LOAD
  16  e_type, e_machine             p_flags = 0x3e0003 (W|X)         03 00 3e 00  ET_DYN, EM_X86_64
  20  e_version                     p_offset                         0c 00 00 00 00 00 00 00
  24  e_entry = 0xc << 32           p_offset high, p_vaddr low        (e_entry low word = p_offset high = 0)
  28                                p_vaddr = 0xc_0000000c           0c 00 00 00 0c 00 00 00
  32  e_phoff = 0xc                 p_vaddr high, p_paddr low
  40  e_shoff                       p_paddr high: free               4 bytes
  44  e_shoff high, e_flags         p_filesz: low 12 bits 0xff4      f4 ?f ?? ?? 00 00 00 00
  52  e_ehsize                      p_memsz low: free                2 bytes
  54  e_phentsize = 56, e_phnum = 1, p_memsz = 0x1_0038_xxxx         38 00 01 00 00 00
  60  e_shnum, e_shstrndx           p_align: free (not 2^n > 4096)   8 bytes, then 3 more to 0x47
  71                                                                 the code the jg lands on

The entry is file offset 0: e_entry - p_vaddr + p_offset = 0, and "\\x7fE" is `jg +0x45` (Intel
SDM: 7F cb = JG rel8), taken because the kernel starts the process with EFLAGS = IF only (ZF = SF
= OF = 0; arch/x86/kernel/process_64.c, start_thread_common) and every general register 0
(ELF_PLAT_INIT, arch/x86/include/asm/elf.h). So every program starts at 0x47 and the file is at
least 73 bytes. p_memsz holds e_phnum = 1 in its fifth byte: the segment spans ≈ 4.3 GB of
address space (reliance.AddressSpace): elf_map() maps total_mapping_size() at once.
Writes to a 32-bit register zero the upper half of the 64-bit one (Intel SDM vol. 1, 3.4.1.1):
`xchg ebx, eax` hands the syscall a clean rax whatever `mov al` left above bit 8.

Linux rules used (fs/binfmt_elf.c, load_elf_binary): for ET_DYN without PT_INTERP the kernel
picks the address (load_bias from the mmap base, elf_map); p_align counts only if it is a power of
two above a page (maximum_alignment); p_filesz < p_memsz is fine when p_vaddr + p_filesz is page
aligned, as 0xc + 0x…ff4 is (padzero has nothing to clear, so older loaders accept it too);
nothing compares p_filesz with the file size. The segment is W|X (p_flags = e_type | e_machine <<
16): x86 page tables cannot express write without read, so it is readable too.

Layouts here (catalog.py lists them with their reliances):

- ``embed_split`` (record, 1-24 bytes): the message is cut into 8-byte chunks at 4 (e_ident),
  60 (p_align) and the end of the file; a zero-byte ``read`` of stdin puts the address after the
  ``syscall`` into rcx (Intel SDM, SYSCALL: RCX ← RIP), three ``push [rcx+d8]`` join the chunks on
  the stack. One ``syscall`` at 0x47 is used three times (lm978's "ouroboros"): read, write, exit.
  69 + len bytes (93 for 24 bytes); 79 and 82 bytes below 9 and 17 bytes.
- ``argv_dyn`` (record): write argv[1]; 73 bytes, the floor of the family.
- ``embed_gvisor``, ``argv_gvisor``: the same family with e_ident[4..6] genuine, for gVisor,
  whose loader checks EI_CLASS, EI_DATA and EI_VERSION and reads a full 64-byte header (gVisor
  pkg/sentry/loader/elf.go, parseHeader) but not e_version, e_shoff, e_flags nor e_ehsize.
"""

from __future__ import annotations

from imagegolf.elf.layout import Canvas, LayoutConflict, imm8, imm32
from imagegolf.elf.spec import (
    ELF64_EHDR,
    ELF64_PHDR,
    ELF_MAGIC,
    ELFCLASS64,
    ELFDATA2LSB,
    EM_X86_64,
    ET_DYN,
    EV_CURRENT,
    PAGE,
    PF_W,
    PF_X,
    PT_LOAD,
)

PHOFF = 0x0C  # e_phoff: the program header starts at e_ident[12]
ENTRY = 0x47  # "\x7fE" at offset 0 is jg +0x45: every program starts here
AFTER_SYSCALL = ENTRY + 2  # rcx after the syscall at 0x47 (SYSCALL: RCX ← RIP of the next instruction)
MIN_SIZE = ENTRY + 2  # the instruction at 0x47 must be in the file
SEGMENT_OFFSET = PHOFF  # p_offset = e_version; ≡ p_vaddr (mod page) and maps the file from 0
SEGMENT_VADDR = 0xC << 32 | PHOFF  # = e_entry high word | e_phoff << 32
FILESZ_PAGE_END = PAGE - PHOFF  # 0xff4: p_vaddr + p_filesz page-aligned, nothing to zero-fill
SEGMENT_SPAN = 0x1_0039_0000  # ≥ p_memsz = 0x1_0038_xxxx: the address space a program reserves
MAX_VADDR = 1 << 47  # 4-level paging: the segment must end below the 128 TiB user space
X_REGION, C_REGION = 0x28, 0x3C  # the free bytes before and after the fixed e_phentsize..e_shentsize
SPLIT_MAX = 24  # three 8-byte chunks
CHUNKS = (0x04, C_REGION)  # chunks 1 and 2: e_ident[4..11] and p_align; the others end the file
ARGV_SIZE = MIN_SIZE  # 73

if (ET_DYN | EM_X86_64 << 16) & (PF_W | PF_X) != PF_W | PF_X:  # p_flags = e_type | e_machine << 16
    raise LayoutConflict("ET_DYN, EM_X86_64 no longer spell PF_W|PF_X")


def embed_split(message: bytes) -> bytes:
    """A 1-24 byte message split in up to three chunks, joined on the stack; exits 0.

    Run order (pass 0 is the entry; each pass ends in the syscall at 0x47):
      0x47 syscall      pass 0: read(0, NULL, 0); pass 1: write(1, rsp, LEN); pass 2: exit_group(0)
      0x49 pop rdi      pass 1: argc = 1 (stdout; rsp points at argc, psABI 3.4.1); pass 2: the 0
                        pushed at 0x2f
           push [rcx+d8] for each chunk, last first    rcx = 0x49 after every pass
           jmp 0x28
      0x28 mov al, 230  pass 1: eax = 230, read's 0 with its low byte set; pass 2: 24 → 230
      0x2a mov rsi, rsp the joined message (48 8b f4: the f4 is p_filesz's low byte)
      0x2d inc ebx      pass 1: 0 → 1; pass 2: 230 → 231 (ff: p_filesz's second byte is ?f)
      0x2f push 0       its imm32 is p_filesz's high half; popped into rdi by pass 2
      0x34 jmp 0x44     p_memsz's low bytes
      0x44 mov dl, LEN
      0x46 xchg ebx, eax  the syscall number is ebx's: 1, then 231; ebx keeps eax's 230
    """
    length = len(message)
    if not 1 <= length <= SPLIT_MAX:
        raise LayoutConflict(f"embed_split takes 1-{SPLIT_MAX} bytes, not {length}")
    chunks = [message[i : i + 8] for i in range(0, length, 8)]
    tail = AFTER_SYSCALL + 1 + 3 * len(chunks) + 2  # pop rdi, the pushes, jmp
    where = [*CHUNKS[: len(chunks)], tail][: len(chunks)]
    canvas = Canvas()
    _header(canvas)
    pushes = b"".join(_push_rcx(where[i]) for i in reversed(range(len(chunks))))
    jump_back = _jmp(tail - 2, X_REGION)
    # pop rdi (argc = 1: stdout), then the chunks, last first, so that rsp points at the first
    canvas.put(ENTRY, b"\x0f\x05" + b"\x5f" + pushes + jump_back, "code")
    canvas.put(
        X_REGION,
        b"".join(
            (
                b"\xb0\xe6",  # mov al, 230          ; e_shoff, p_paddr high: free
                b"\x48\x8b\xf4",  # mov rsi, rsp     ; f4 = p_filesz & 0xff (low 12 bits must be ff4)
                b"\xff\xc3",  # inc ebx              ; ff: p_filesz bits 8..11 must be 0xf
                b"\x68" + imm32(0),  # push 0        ; imm32 = p_filesz bytes 4..7 (< p_memsz)
                _jmp(0x34, 0x44),  # jmp 0x44        ; p_memsz low bytes (e_ehsize: not read)
            )
        ),
        "code",
    )
    canvas.put(0x44, b"\xb2" + imm8(length) + b"\x93", "code: mov dl, LEN; xchg ebx, eax")
    for offset, chunk in zip(where, chunks, strict=True):
        canvas.put(offset, chunk, "message")  # e_ident: Linux reads only the magic; p_align: see below
    end = tail + (len(chunks[2]) if len(chunks) == 3 else 0)  # the last chunk ends the file
    return _finish(canvas, max(end, MIN_SIZE))


def argv_dyn() -> bytes:
    """73 bytes that write argv[1] (non-empty) and exit 0: the floor of the family.

      0x47 jmp 0x28
      0x28 pop rsi x3     argc, argv[0], argv[1]
      0x2b cmp al, 0xf4   CF = 1 (al = 0); the f4 is p_filesz's low byte
      0x2d inc edi        rdi = 1: stdout
      0x2f adc eax, 0     eax = 1 = __NR_write; imm32 = p_filesz's high half
      0x34 jmp 0x3c
      0x3c L: inc edx; cmp [rsi+rdx], bh; jnz L   rdx = strlen (bh = 0)
      0x43 syscall        write(1, argv[1], rdx)
      0x45 jmp 0x04
      0x04 push 60; pop rax; dec edi; syscall     exit(0), in e_ident
    """
    canvas = Canvas()
    _header(canvas)
    canvas.put(ENTRY, _jmp(ENTRY, X_REGION), "code")
    canvas.put(X_REGION, _ARGV_X, "code")
    canvas.put(C_REGION, _STRLEN_WRITE + _jmp(0x45, 0x04), "code")  # p_align: not a power of two
    canvas.put(
        0x04,
        b"\x6a\x3c\x58"  # push 60; pop rax      ; __NR_exit, whatever write returned
        b"\xff\xcf"  # dec edi                     ; 0
        b"\x0f\x05",  # syscall                    ; exit(0)
        "code",  # e_ident[4..10]: Linux reads only the magic
    )
    return _finish(canvas, ARGV_SIZE)


def embed_gvisor(message: bytes) -> bytes:
    """gVisor-loadable: genuine e_ident[4..6], the message whole at 0x4b; 75 + len bytes.

      0x47 syscall        pass 0: read(0, NULL, 0) (result unused); 1: write; 2: exit(0)
      0x49 jmp 0x28
      0x28 xchg ebx, eax  pass 1: eax = 0 (ebx at entry); pass 2: eax = 59
      0x29 mov bl, 59
      0x2b cmp al, 0xf4   CF = 1 (al is 0 or 59); f4 = p_filesz's low byte
      0x2d pop rdi        pass 1: argc = 1; pass 2: the 0 pushed at 0x45
      0x2e nop
      0x2f adc eax, 0     1 = __NR_write, then 60 = __NR_exit
      0x34 jmp 0x3c
      0x3c lea rsi, [rcx+2]   the message, right after `jmp 0x28`
      0x40 mov edx, LEN
      0x45 push rbp       0, for pass 2's pop rdi
      0x46 nop
    """
    msg = AFTER_SYSCALL + 2
    canvas = Canvas()
    _header(canvas, genuine_ident=True)
    canvas.put(ENTRY, b"\x0f\x05" + _jmp(AFTER_SYSCALL, X_REGION), "code")
    canvas.put(
        X_REGION,
        b"".join(
            (
                b"\x93",  # xchg ebx, eax
                b"\xb3\x3b",  # mov bl, 59
                b"\x3c\xf4",  # cmp al, 0xf4
                b"\x5f",  # pop rdi                ; 5f: p_filesz bits 8..11 = 0xf
                b"\x90",  # nop
                b"\x15" + imm32(0),  # adc eax, 0   ; p_filesz high half = 0
                _jmp(0x34, C_REGION),
            )
        ),
        "code",
    )
    canvas.put(
        C_REGION,
        b"\x48\x8d\x71" + imm8(msg - AFTER_SYSCALL)  # lea rsi, [rcx+2]
        + b"\xba" + imm32(len(message))  # mov edx, LEN
        + b"\x55"  # push rbp
        + b"\x90",  # nop
        "code",  # p_align: 48 8d 71 02 ba …, never a power of two
    )
    canvas.put(msg, message, "message")
    return _finish(canvas, msg + len(message))


def argv_gvisor() -> bytes:
    """gVisor-loadable argv writer, 73 bytes: the exit fits e_ident[7..11] if LEN < 256, argc = 2."""
    canvas = Canvas()
    _header(canvas, genuine_ident=True)
    canvas.put(ENTRY, _jmp(ENTRY, X_REGION), "code")
    canvas.put(X_REGION, _ARGV_X, "code")
    canvas.put(C_REGION, _STRLEN_WRITE + _jmp(0x45, 0x07), "code")
    canvas.put(
        0x07,
        b"\xb0\x3c"  # mov al, 60               ; rax = LEN < 256 after write: 60 = __NR_exit
        b"\x5f"  # pop rdi                         ; argv[2] = NULL when argc = 2: status 0
        b"\x0f\x05",  # syscall                    ; exit(0)
        "code",  # e_ident[EI_OSABI..]: gVisor reads only EI_CLASS, EI_DATA, EI_VERSION
    )
    return _finish(canvas, ARGV_SIZE)


def argv_gvisor_long() -> bytes:
    """gVisor-loadable argv writer for any argv[1] and argc: the exit after 0x49, 80 bytes."""
    canvas = Canvas()
    _header(canvas, genuine_ident=True)
    canvas.put(ENTRY, _jmp(ENTRY, X_REGION), "code")
    canvas.put(X_REGION, _ARGV_X, "code")
    canvas.put(C_REGION, _STRLEN_WRITE + b"\xeb\x02", "code")  # jmp 0x49, over the entry jump
    canvas.put(
        AFTER_SYSCALL,
        b"\x6a\x3c\x58"  # push 60; pop rax
        b"\x31\xff"  # xor edi, edi
        b"\x0f\x05",  # syscall                    ; exit(0)
        "code",
    )
    return _finish(canvas, AFTER_SYSCALL + 7)


_ARGV_X = b"".join(
    (
        b"\x5e\x5e\x5e",  # pop rsi (x3)           ; argc, argv[0], argv[1]
        b"\x3c\xf4",  # cmp al, 0xf4               ; CF = 1: al is 0 at entry
        b"\xff\xc7",  # inc edi                    ; rdi = 1 (ff: p_filesz bits 8..11 = 0xf)
        b"\x15" + imm32(0),  # adc eax, 0          ; eax = 1 = __NR_write
        b"\xeb\x06",  # jmp 0x3c                   ; over e_phentsize..e_shentsize
    )
)
_STRLEN_WRITE = b"".join(
    (
        b"\xff\xc2",  # L: inc edx                 ; rdx counts from 1: argv[1] is non-empty
        b"\x38\x3c\x16",  # cmp [rsi+rdx], bh      ; bh = 0
        b"\x75\xf9",  # jnz L
        b"\x0f\x05",  # syscall                    ; write(1, argv[1], rdx)
    )
)


def _header(canvas: Canvas, *, genuine_ident: bool = False) -> None:
    """The fixed bytes of the family; ``genuine_ident`` adds EI_CLASS, EI_DATA and EI_VERSION."""
    e, p = ELF64_EHDR, ELF64_PHDR
    canvas.put(0, ELF_MAGIC, "e_ident[EI_MAG]")  # also `jg 0x47`, the first instruction
    if genuine_ident:  # gVisor's parseHeader checks these three; Linux reads only the magic
        canvas.field(e, "e_ident[EI_CLASS]", ELFCLASS64)
        canvas.field(e, "e_ident[EI_DATA]", ELFDATA2LSB)
        canvas.field(e, "e_ident[EI_VERSION]", EV_CURRENT)
    canvas.field(p, "p_type", PT_LOAD, base=PHOFF)  # e_ident[12..15]
    canvas.field(e, "e_type", ET_DYN)  # the kernel picks the address (no PT_INTERP: mmap base)
    canvas.field(e, "e_machine", EM_X86_64)
    canvas.field(p, "p_flags", ET_DYN | EM_X86_64 << 16, base=PHOFF)  # = e_type, e_machine: W|X
    canvas.field(p, "p_offset", SEGMENT_OFFSET, base=PHOFF)  # e_version (unchecked) and e_entry low
    canvas.field(e, "e_entry", SEGMENT_VADDR - SEGMENT_OFFSET)  # file offset 0
    canvas.field(p, "p_vaddr", SEGMENT_VADDR, base=PHOFF)  # = e_entry high word, e_phoff low word
    canvas.field(e, "e_phoff", PHOFF)
    canvas.field(e, "e_phentsize", ELF64_PHDR.size)  # checked: 56
    canvas.field(e, "e_phnum", 1)
    canvas.field(e, "e_shentsize", 0)  # p_memsz's seventh byte: keep the segment below 2^47


def _finish(canvas: Canvas, size: int) -> bytes:
    """Derive p_filesz, p_memsz and p_align from the code drawn over them, check them, return."""
    p = ELF64_PHDR
    filesz = int.from_bytes(canvas.read(PHOFF + p["p_filesz"].offset, 8), "little")
    canvas.field(p, "p_filesz", filesz, base=PHOFF)  # code; > the file: nothing compares them
    memsz = int.from_bytes(canvas.read(PHOFF + p["p_memsz"].offset, 8), "little")
    canvas.field(p, "p_memsz", memsz, base=PHOFF)
    align = int.from_bytes(canvas.to_bytes()[0x3C:0x44].ljust(8, b"\0"), "little")
    if filesz & (PAGE - 1) != FILESZ_PAGE_END or not filesz < memsz:
        raise LayoutConflict(f"p_filesz {filesz:#x}: needs low bits 0xff4 and < p_memsz {memsz:#x}")
    if SEGMENT_VADDR + memsz > MAX_VADDR:
        raise LayoutConflict(f"p_memsz {memsz:#x} ends the segment above 2^47")
    if align > PAGE and align & (align - 1) == 0:  # maximum_alignment() would act on it
        raise LayoutConflict(f"p_align {align:#x} is a power of two above a page")
    return canvas.to_bytes(size)


def _push_rcx(offset: int) -> bytes:
    """push qword [rcx + d8] reading file offset ``offset`` (rcx = the address after 0x47's syscall)."""
    return b"\xff\x71" + imm8((offset - AFTER_SYSCALL) & 0xFF)


def _jmp(at: int, target: int) -> bytes:
    """jmp rel8 from ``at`` to ``target``."""
    rel = target - (at + 2)
    if not -128 <= rel < 128:
        raise LayoutConflict(f"jmp from {at:#x} to {target:#x} does not fit rel8")
    return b"\xeb" + imm8(rel & 0xFF)
