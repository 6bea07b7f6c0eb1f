"""The ELF format, declared once: e_ident, the header constants, the machines and the structs.

Pure: values only. Every number here is the gABI's ("ELF Header", "Program Header") or
<elf.h>'s; each psABI's e_flags bits sit with their machine. The builders (``layout`` and the
architecture modules) write with these declarations and the readers (``anatomy``, ``annotate``,
``disasm``, the ladder's ``elfinfo``) read with them, so a field's offset, size or value is
spelled in one place.

The constants are IntEnums named as in <elf.h>: ``Machine.EM_386 == 3``, and ``Machine(3).name``
is what a reader prints. The module-level aliases (``EM_386``, ``PT_LOAD``…) are the same members.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

ByteOrder = Literal["little", "big"]

# e_ident (gABI "ELF Identification")
ELF_MAGIC: Final = b"\x7fELF"  # e_ident[EI_MAG0..3]: the only e_ident bytes Linux checks (binfmt_elf.c)


class ElfClass(enum.IntEnum):
    """e_ident[EI_CLASS]: the word size of the file's structs."""

    ELFCLASS32 = 1
    ELFCLASS64 = 2

    @property
    def bits(self) -> Literal[32, 64]:
        return 32 if self is ElfClass.ELFCLASS32 else 64


class ElfData(enum.IntEnum):
    """e_ident[EI_DATA]: the byte order of the file's structs."""

    ELFDATA2LSB = 1
    ELFDATA2MSB = 2

    @property
    def byteorder(self) -> ByteOrder:
        return "little" if self is ElfData.ELFDATA2LSB else "big"


class Version(enum.IntEnum):
    """e_ident[EI_VERSION] and e_version."""

    EV_CURRENT = 1


class OsAbi(enum.IntEnum):
    """e_ident[EI_OSABI]."""

    ELFOSABI_SYSV = 0
    ELFOSABI_LINUX = 3


class FileType(enum.IntEnum):
    """e_type."""

    ET_NONE = 0
    ET_REL = 1
    ET_EXEC = 2
    ET_DYN = 3
    ET_CORE = 4


class Machine(enum.IntEnum):
    """e_machine: the numbers of the machines imagegolf builds for or names."""

    EM_NONE = 0
    EM_386 = 3
    EM_486 = 6  # accepted by Linux's ia32 loader beside EM_386 (elf_check_arch_ia32)
    EM_MIPS = 8
    EM_PPC = 20
    EM_PPC64 = 21
    EM_S390 = 22
    EM_ARM = 40
    EM_X86_64 = 62
    EM_AARCH64 = 183
    EM_RISCV = 243
    EM_LOONGARCH = 258


class SegmentType(enum.IntEnum):
    """p_type."""

    PT_NULL = 0
    PT_LOAD = 1
    PT_DYNAMIC = 2
    PT_INTERP = 3
    PT_NOTE = 4
    PT_SHLIB = 5
    PT_PHDR = 6
    PT_TLS = 7
    PT_GNU_EH_FRAME = 0x6474E550
    PT_GNU_STACK = 0x6474E551
    PT_GNU_RELRO = 0x6474E552
    PT_GNU_PROPERTY = 0x6474E553


class SegmentFlag(enum.IntEnum):  # IntEnum, not IntFlag: code that spells p_flags mixes in other bits
    """p_flags bits; the loaders read these three and ignore the rest."""

    PF_X = 1
    PF_W = 2
    PF_R = 4


ELFCLASS32, ELFCLASS64 = ElfClass.ELFCLASS32, ElfClass.ELFCLASS64
ELFDATA2LSB, ELFDATA2MSB = ElfData.ELFDATA2LSB, ElfData.ELFDATA2MSB
EV_CURRENT = Version.EV_CURRENT
ET_EXEC, ET_DYN = FileType.ET_EXEC, FileType.ET_DYN
EM_386, EM_486, EM_MIPS, EM_PPC64 = Machine.EM_386, Machine.EM_486, Machine.EM_MIPS, Machine.EM_PPC64
EM_S390, EM_ARM, EM_X86_64 = Machine.EM_S390, Machine.EM_ARM, Machine.EM_X86_64
EM_AARCH64, EM_RISCV = Machine.EM_AARCH64, Machine.EM_RISCV
PT_LOAD, PT_INTERP = SegmentType.PT_LOAD, SegmentType.PT_INTERP
PT_GNU_STACK, PT_GNU_PROPERTY = SegmentType.PT_GNU_STACK, SegmentType.PT_GNU_PROPERTY
PF_X, PF_W, PF_R = SegmentFlag.PF_X, SegmentFlag.PF_W, SegmentFlag.PF_R

# e_flags of the psABIs imagegolf builds for
EF_MIPS_ABI2: Final = 0x20  # n32: qemu-mips64el (n64) refuses it
EF_MIPS_NAN2008: Final = 0x400  # qemu's default mips64 CPU (5KEf) refuses it
EF_MIPS_ABI: Final = 0x0000F000  # o32 / o64 / eabi: 0 for n64
EF_MIPS_ARCH: Final = 0xF0000000
EF_MIPS_ARCH_64R6: Final = 0xA0000000
EF_PPC64_ABI: Final = 3  # e_flags & 3: the ELF ABI version
EF_PPC64_ABI_V2: Final = 2  # ELFv2: the entry is code (not a function descriptor)

# Machines that exist in one class only: for them Linux's loader (the binfmt that accepts the
# machine) fixes the word size, whatever EI_CLASS says. s390, MIPS and RISC-V have both.
ONE_CLASS: Mapping[int, ElfClass] = {
    Machine.EM_386: ELFCLASS32, Machine.EM_PPC: ELFCLASS32, Machine.EM_ARM: ELFCLASS32,
    Machine.EM_PPC64: ELFCLASS64, Machine.EM_X86_64: ELFCLASS64, Machine.EM_AARCH64: ELFCLASS64,
}  # fmt: skip

# Page sizes the loaders map with (not the ELF format's, but every layout and reader needs them)
PAGE: Final = 4096  # the smallest page any supported kernel uses; p_offset ≡ p_vaddr modulo the real one
MAX_PAGE: Final = 65536  # arm64 kernels may use 64 KiB pages: arm64 layouts align to this


@dataclass(frozen=True)
class Field:
    """One field of a struct: where it starts and how many bytes it has."""

    name: str
    offset: int
    size: int
    numeric: bool = True  # a number; e_ident's magic and padding are byte strings

    def read(self, data: bytes, byteorder: ByteOrder, *, base: int = 0) -> int:
        """The field of the struct at ``base`` in ``data`` as a number; bytes past the end read 0
        (Linux reads the ELF header into a zero-filled buffer)."""
        at = base + self.offset
        return int.from_bytes(data[at : at + self.size].ljust(self.size, b"\0"), byteorder)


_FORMATS = {1: "B", 2: "H", 4: "I", 8: "Q"}


@dataclass(frozen=True)
class Struct:
    """A C struct of the ELF format: its fields in spec order."""

    name: str
    fields: tuple[Field, ...]

    def __getitem__(self, name: str) -> Field:
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(f"{self.name} has no field {name!r}")

    @property
    def size(self) -> int:
        last = self.fields[-1]
        return last.offset + last.size

    def codec(self, byteorder: ByteOrder) -> struct.Struct:
        """The whole struct as a :class:`struct.Struct` (byte strings for the magic and padding)."""
        prefix = "<" if byteorder == "little" else ">"
        return struct.Struct(
            prefix + "".join(_FORMATS[f.size] if f.numeric else f"{f.size}s" for f in self.fields)
        )


_BYTE_STRINGS = ("e_ident[EI_MAG]", "e_ident[EI_PAD]")


def _struct(name: str, spec: Sequence[tuple[str, int]]) -> Struct:
    fields, offset = [], 0
    for field_name, size in spec:
        fields.append(Field(field_name, offset, size, numeric=field_name not in _BYTE_STRINGS))
        offset += size
    return Struct(name, tuple(fields))


IDENT_FIELDS = (  # e_ident, split where the loaders read single bytes
    ("e_ident[EI_MAG]", 4),
    ("e_ident[EI_CLASS]", 1),
    ("e_ident[EI_DATA]", 1),
    ("e_ident[EI_VERSION]", 1),
    ("e_ident[EI_OSABI]", 1),
    ("e_ident[EI_ABIVERSION]", 1),
    ("e_ident[EI_PAD]", 7),
)


def _ehdr(addr: int) -> tuple[tuple[str, int], ...]:
    """Elf32_Ehdr / Elf64_Ehdr: Addr and Off are 4 or 8 bytes, the rest does not change."""
    return (
        *IDENT_FIELDS,
        ("e_type", 2),
        ("e_machine", 2),
        ("e_version", 4),
        ("e_entry", addr),
        ("e_phoff", addr),
        ("e_shoff", addr),
        ("e_flags", 4),
        ("e_ehsize", 2),
        ("e_phentsize", 2),
        ("e_phnum", 2),
        ("e_shentsize", 2),
        ("e_shnum", 2),
        ("e_shstrndx", 2),
    )


ELF32_EHDR = _struct("Elf32_Ehdr", _ehdr(4))
ELF64_EHDR = _struct("Elf64_Ehdr", _ehdr(8))
ELF32_PHDR = _struct(
    "Elf32_Phdr",
    (
        ("p_type", 4),
        ("p_offset", 4),
        ("p_vaddr", 4),
        ("p_paddr", 4),
        ("p_filesz", 4),
        ("p_memsz", 4),
        ("p_flags", 4),
        ("p_align", 4),
    ),
)
ELF64_PHDR = _struct(  # ELF64 moves p_flags up, "to maintain alignment" (gABI)
    "Elf64_Phdr",
    (
        ("p_type", 4),
        ("p_flags", 4),
        ("p_offset", 8),
        ("p_vaddr", 8),
        ("p_paddr", 8),
        ("p_filesz", 8),
        ("p_memsz", 8),
        ("p_align", 8),
    ),
)
EHDR: Mapping[ElfClass, Struct] = {ELFCLASS32: ELF32_EHDR, ELFCLASS64: ELF64_EHDR}
PHDR: Mapping[ElfClass, Struct] = {ELFCLASS32: ELF32_PHDR, ELFCLASS64: ELF64_PHDR}


def name_of(kind: type[enum.IntEnum], value: int) -> str | None:
    """The <elf.h> name of ``value`` among ``kind``'s constants (``Machine``, ``SegmentType``…)."""
    try:
        return kind(value).name
    except ValueError:
        return None
