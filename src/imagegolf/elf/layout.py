"""The canvas a tiny ELF is drawn on, and the helpers its layouts share.

Pure: values in, bytes out. The structs and constants it writes are ``spec``'s.

A hand-made executable lets one byte play several parts: a header field, a program header
field and an instruction at once. :class:`Canvas` keeps that honest: every write names what it
is, and two writes to one byte must agree, so a layout that breaks its own overlap raises
:class:`LayoutConflict` at build time instead of producing a file that fails to load.
"""

from __future__ import annotations

from imagegolf.elf.spec import PAGE, ByteOrder, Struct


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

    def field(
        self, struct: Struct, name: str, value: int, *, base: int = 0, byteorder: ByteOrder = "little"
    ) -> None:
        """Write one struct field for a struct that starts at ``base`` (little-endian unless the
        file is ELFDATA2MSB)."""
        field = struct[name]
        if not 0 <= value < 1 << (8 * field.size):
            raise LayoutConflict(f"{struct.name}.{name} = {value:#x} does not fit {field.size} bytes")
        self.put(base + field.offset, value.to_bytes(field.size, byteorder), f"{struct.name}.{name}")

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
