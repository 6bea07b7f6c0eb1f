"""ELF header and program header layouts, declared once, and the canvas a tiny ELF is drawn on.

Pure: values in, bytes out. The structs follow the gABI ("ELF Header", "Program Header") in
spec order, per word size, little-endian only (every platform imagegolf builds for is LSB).

A hand-made executable lets one byte play several parts: a header field, a program header
field and an instruction at once. :class:`Canvas` keeps that honest: every write names what it
is, and two writes to one byte must agree, so a layout that breaks its own overlap raises
:class:`LayoutConflict` at build time instead of producing a file that fails to load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ELF_MAGIC = b"\x7fELF"  # e_ident[EI_MAG0..3]: the only e_ident bytes Linux checks (binfmt_elf.c)

# gABI constants (<elf.h>)
ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB = 1
EV_CURRENT = 1
ET_EXEC, ET_DYN = 2, 3
EM_386, EM_X86_64, EM_AARCH64 = 3, 62, 183
PT_LOAD = 1
PF_X, PF_W, PF_R = 1, 2, 4

PAGE = 4096  # the smallest page any supported kernel uses; p_offset ≡ p_vaddr modulo the real one
MAX_PAGE = 65536  # arm64 kernels may use 64 KiB pages: arm64 layouts align to this


@dataclass(frozen=True)
class Field:
    """One field of a struct: where it starts and how many bytes it has."""

    name: str
    offset: int
    size: int


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


def _struct(name: str, spec: Sequence[tuple[str, int]]) -> Struct:
    fields, offset = [], 0
    for field_name, size in spec:
        fields.append(Field(field_name, offset, size))
        offset += size
    return Struct(name, tuple(fields))


_IDENT = (  # e_ident, split where the loaders read single bytes
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
        *_IDENT,
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


class LayoutConflict(Exception):  # a bug in a layout, not a user error (no ImagegolfError)
    """Two parts of a layout claim one byte with different values."""


class Canvas:
    """The bytes of a file being drawn; each byte remembers who wrote it."""

    def __init__(self) -> None:
        self._bytes: dict[int, int] = {}
        self._owner: dict[int, str] = {}

    def put(self, offset: int, data: bytes, what: str) -> None:
        """Write ``data`` at ``offset``; a byte already written must already hold the same value."""
        for i, value in enumerate(data):
            at = offset + i
            old = self._bytes.get(at)
            if old is not None and old != value:
                raise LayoutConflict(
                    f"byte {at}: {what} wants {value:#04x}, {self._owner[at]} holds {old:#04x}"
                )
            self._bytes[at] = value
            self._owner.setdefault(at, what)

    def field(self, struct: Struct, name: str, value: int, *, base: int = 0) -> None:
        """Write one struct field (little-endian) for a struct that starts at ``base``."""
        field = struct[name]
        if not 0 <= value < 1 << (8 * field.size):
            raise LayoutConflict(f"{struct.name}.{name} = {value:#x} does not fit {field.size} bytes")
        self.put(base + field.offset, value.to_bytes(field.size, "little"), f"{struct.name}.{name}")

    def read(self, offset: int, size: int) -> bytes:
        """Bytes already drawn (a layout reads back code that doubles as a header value)."""
        try:
            return bytes(self._bytes[offset + i] for i in range(size))
        except KeyError as missing:
            raise LayoutConflict(f"byte {missing} read before it was written") from None

    def to_bytes(self, size: int | None = None) -> bytes:
        """The file: ``size`` bytes (default: up to the last byte written); gaps are zero."""
        end = max(self._bytes) + 1 if self._bytes else 0
        size = end if size is None else size
        if size < end:
            raise LayoutConflict(f"file of {size} bytes would cut byte {end - 1}")
        return bytes(self._bytes.get(i, 0) for i in range(size))


def imm8(value: int) -> bytes:
    """An 8-bit immediate operand."""
    return value.to_bytes(1, "little")


def imm32(value: int) -> bytes:
    """A little-endian 32-bit immediate operand (or rel32/disp32 when signed)."""
    return value.to_bytes(4, "little", signed=value < 0)


def u32(data: bytes) -> int:
    """A little-endian 32-bit value spelled by four bytes (code that doubles as a header word)."""
    if len(data) != 4:
        raise LayoutConflict(f"u32 of {len(data)} bytes")
    return int.from_bytes(data, "little")


def page_offset_for(filesz: int) -> int:
    """p_offset (≡ p_vaddr mod PAGE) that makes p_vaddr + p_filesz page-aligned.

    Then the loader's zero-fill of the last file page (padzero) starts on a page boundary and
    has nothing to clear, so p_filesz < p_memsz is safe on every loader: old ones abort the
    exec when that clear faults (binfmt_elf.c before the elf_load() rework).
    """
    return -filesz % PAGE
