"""The struct declarations (checked against pyelftools) and the overlap-checking canvas."""

from __future__ import annotations

import pytest
from elftools.elf.structs import ELFStructs
from hypothesis import given
from hypothesis import strategies as st

from imagegolf.elf import a64
from imagegolf.elf.layout import Canvas, LayoutConflict, page_offset_for
from imagegolf.elf.spec import (
    ELF32_EHDR,
    ELF32_PHDR,
    ELF64_EHDR,
    ELF64_PHDR,
    Struct,
)

NUMERIC_EHDR_FIELDS = [
    "e_entry", "e_phoff", "e_shoff", "e_flags", "e_ehsize",
    "e_phentsize", "e_phnum", "e_shentsize", "e_shnum", "e_shstrndx",
]  # fmt: skip
PHDR_FIELDS = ["p_offset", "p_vaddr", "p_paddr", "p_filesz", "p_memsz", "p_flags", "p_align"]


def pyelftools_structs(elfclass: int) -> ELFStructs:
    structs = ELFStructs(little_endian=True, elfclass=elfclass)
    structs.create_basic_structs()
    structs.create_advanced_structs(e_type="ET_EXEC", e_machine="EM_386", e_ident_osabi="ELFOSABI_SYSV")
    return structs


@pytest.mark.parametrize(
    ("ehdr", "phdr", "elfclass", "sizes"),
    [(ELF32_EHDR, ELF32_PHDR, 32, (52, 32)), (ELF64_EHDR, ELF64_PHDR, 64, (64, 56))],
)
def test_structs_match_pyelftools(ehdr: Struct, phdr: Struct, elfclass: int, sizes: tuple[int, int]) -> None:
    assert (ehdr.size, phdr.size) == sizes
    theirs = pyelftools_structs(elfclass)
    pairs = ((ehdr, theirs.Elf_Ehdr, NUMERIC_EHDR_FIELDS), (phdr, theirs.Elf_Phdr, PHDR_FIELDS))
    for struct, their_struct, names in pairs:
        for name in names:
            canvas = Canvas()
            canvas.field(struct, name, 0x2A)
            parsed = their_struct.parse(canvas.to_bytes(struct.size))
            assert parsed[name] == 0x2A, name
            assert all(parsed[other] == 0 for other in names if other != name), name


def test_ident_fields_cover_sixteen_bytes() -> None:
    ident = [f for f in ELF64_EHDR.fields if f.name.startswith("e_ident")]
    assert sum(f.size for f in ident) == 16
    assert ELF64_EHDR["e_type"].offset == 16


def test_canvas_accepts_agreeing_overlaps_and_rejects_conflicts() -> None:
    canvas = Canvas()
    canvas.put(4, b"\x01\x00\x00\x00", "code")
    canvas.field(ELF32_PHDR, "p_type", 1, base=4)  # the same bytes: fine
    with pytest.raises(LayoutConflict, match="byte 4"):
        canvas.field(ELF32_PHDR, "p_type", 2, base=4)
    with pytest.raises(LayoutConflict, match="does not fit"):
        canvas.field(ELF32_EHDR, "e_type", 1 << 16)
    assert canvas.to_bytes(10) == bytes(4) + b"\x01" + bytes(5)
    with pytest.raises(LayoutConflict, match="cut"):
        canvas.to_bytes(5)
    assert canvas.read(4, 2) == b"\x01\x00"
    with pytest.raises(LayoutConflict):
        canvas.read(0, 1)


@given(st.integers(min_value=0, max_value=(1 << 32) - 1))
def test_page_offset_makes_the_file_part_end_on_a_page(filesz: int) -> None:
    offset = page_offset_for(filesz)
    assert 0 <= offset < 4096
    assert (offset + filesz) % 4096 == 0


def test_a64_encodings_match_the_assembler() -> None:
    # Words from `aarch64-linux-gnu-as`, to pin the hand encoders.
    assert a64.adr(1, 72) == 0x10000241
    assert a64.ldp_w(2, 8, 1, -104) == 0x29732022
    assert a64.ldp_w(0, 8, 1, -44) == 0x297AA020
    assert a64.b(32) == 0x14000008
    assert a64.mov_w(0, 1) == 0x52800020
    assert a64.ldr_x(1, a64.SP, 16) == 0xF9400BE1
    assert a64.add_x(2, 2, 1) == 0x91000442
    assert a64.ldrb_reg(3, 1, 2) == 0x38626823
    assert a64.cbnz_w(3, -8) == 0x35FFFFC3
    assert a64.mov_x(0, a64.XZR) == 0xAA1F03E0
    assert a64.ldr_w_literal(2, 0x2C) == 0x18000162
    assert a64.ldp_w(8, 0, 1, -52) == 0x29798028
    assert a64.b(-48) == 0x17FFFFF4
    with pytest.raises(ValueError, match="does not fit"):
        a64.b(2)
    with pytest.raises(ValueError, match="does not fit"):
        a64.ldp_w(0, 8, 1, 256)
