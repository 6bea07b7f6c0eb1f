"""The annotated hexdump: every field, instruction and message byte is named on its own row."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.elf.test_anatomy import MESSAGE, TEENSY_45, amd64_hello, arm64_hello, elf32, elf64, i386_hello

from imagegolf.elf import build_program
from imagegolf.elf.anatomy import dissect
from imagegolf.elf.annotate import annotate
from imagegolf.elf.disasm import disassemble
from imagegolf.errors import BadInputError
from imagegolf.platform import Platform

HELLOS = {
    "386": elf32(3, i386_hello, MESSAGE),
    "amd64": elf64(62, amd64_hello, MESSAGE),
    "arm64": elf64(183, arm64_hello, MESSAGE),
}


def rows(text: str) -> dict[int, str]:
    """Table rows by offset (the disassembly listing below the table is indented)."""
    table = {}
    for line in text.splitlines():
        head = line.split("  ", 1)[0]
        if len(head) == 6 and all(c in "0123456789abcdef" for c in head):
            table[int(head, 16)] = line
    return table


def shown_bytes(line: str) -> list[str]:
    return line.split("  ")[1].split()


def assert_every_role_is_named(data: bytes, text: str) -> None:
    table = rows(text)
    for field in dissect(data).fields:
        name = field.name.removeprefix("e_ident[").removesuffix("]")
        assert name in table[field.offset], (field.label, table[field.offset])
    for insn in disassemble(data, data_ranges=[(data.find(MESSAGE), data.find(MESSAGE) + len(MESSAGE))]):
        assert insn.text in table[insn.offset]


def test_teensy_summary() -> None:
    text = annotate(TEENSY_45)
    assert text.startswith("ELF32 LSB i386 ET_EXEC, 45 bytes\n")
    assert "entry     0x10020 = file offset 0x20" in text
    assert "program headers 0x4..0x24 overlap the ELF header 0x0..0x34" in text
    assert "[0] PT_LOAD R-- offset 0x0 vaddr 0x10000 filesz 0x10020 memsz 0x10020" in text
    assert "last 7 bytes read as 0" in text
    assert "PROBLEM" not in text


def test_teensy_rows_show_every_role_of_a_byte() -> None:
    table = rows(annotate(TEENSY_45))
    # e_ident padding (continued from 0x9), p_vaddr: one range, two fields
    assert "│" in table[0x0C] and "[0].p_vaddr = 0x10000 [used]" in table[0x0C]
    assert "e_machine = 3 EM_386 [checked]" in table[0x12] and "[0].p_paddr" not in table[0x12]
    # e_shoff, p_align and code at once
    row = table[0x20]
    assert shown_bytes(row) == ["b3", "2a"]
    assert "e_shoff = 0xc0312ab3" in row and "[0].p_align" in row and row.endswith("mov bl, 0x2a")
    assert table[0x25].endswith("int 0x80  ; exit(42): does not return")
    assert "e_phnum = 1 partly past EOF, reads 0 [checked]" in table[0x2C]
    assert shown_bytes(table[0x2D]) == ["--"] and table[0x2D].endswith("(past EOF)")
    assert "e_shentsize = 0 past EOF, reads 0" in table[0x2E]
    assert_every_role_is_named(TEENSY_45, annotate(TEENSY_45))


@pytest.mark.parametrize("platform", HELLOS)
def test_hello_programs_name_fields_code_and_message(platform: str) -> None:
    data = HELLOS[platform]
    text = annotate(data, message=MESSAGE)
    start = data.index(MESSAGE)
    assert f"message   'hello IDBS engineering\\n' at {start:#x}..{start + len(MESSAGE):#x}" in text
    assert "message 'hello IDBS engin'" in rows(text)[start]
    assert f"write(1, {0x400000 + start:#x}, 23)" in text
    assert_every_role_is_named(data, text)


def test_width_limits_bytes_per_row() -> None:
    data = HELLOS["386"]
    for width in (4, 8, 16):
        table = rows(annotate(data, message=MESSAGE, width=width))
        assert max(len(shown_bytes(line)) for line in table.values()) == width
        assert table[data.index(MESSAGE)].count("message") == 1


def test_missing_message_is_reported() -> None:
    assert "message   'bye' not found" in annotate(HELLOS["amd64"], message=b"bye")


def test_bin_true_folds_what_plays_no_role() -> None:
    data = Path("/bin/true").read_bytes()
    text = annotate(data)
    assert len(text.splitlines()) < 300
    assert "bytes to" in text and "no header field, code or message" in text
    assert "ELF64 LSB x86-64 ET_DYN, " in text
    assert_every_role_is_named(data, text)


def test_not_an_elf_is_bad_input() -> None:
    with pytest.raises(BadInputError):
        annotate(b"")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_after_the_magic_annotate(tail: bytes) -> None:
    assert annotate(b"\x7fELF" + tail, message=tail[:3] or None).count("\n") > 3


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(4, 44), st.integers(0, 255)), max_size=6), st.integers(5, 45))
def test_mutated_teensies_annotate(edits: list[tuple[int, int]], size: int) -> None:
    data = bytearray(TEENSY_45)
    for index, value in edits:
        data[index] = value
    assert "ELF32" in annotate(bytes(data[:size])) or "ELF64" in annotate(bytes(data[:size]))


@pytest.mark.parametrize("platform", ["386", "amd64", "arm64"])
def test_built_programs_annotate(platform: str) -> None:
    data = bytes(build_program(MESSAGE, Platform.parse(f"linux/{platform}"), "embed", "portable"))
    text = annotate(data, message=MESSAGE)
    assert "not found" not in text and "message '" in text
    assert disassemble(data)
