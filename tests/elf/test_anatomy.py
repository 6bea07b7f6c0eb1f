"""The field table and the disassembly of hand-made and ordinary ELF files.

The test ELFs are built here, byte by byte, so the tests do not depend on the builders.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from imagegolf.elf.anatomy import EM, Field, Use, dissect
from imagegolf.elf.disasm import disassemble
from imagegolf.errors import BadInputError

# Brian Raiter's 45-byte "teensy" i386 program that exits with 42: the program header starts
# at offset 4 inside the ELF header, the code sits in e_shoff/e_flags (and p_align), and the
# file ends in the middle of e_phnum.
TEENSY_45 = bytes.fromhex(
    "7f454c46"  # e_ident[EI_MAG]
    "01000000"  # EI_CLASS..EI_OSABI          / p_type = PT_LOAD
    "00000000"  # EI_ABIVERSION, EI_PAD       / p_offset = 0
    "00000100"  # EI_PAD                      / p_vaddr = 0x10000
    "0200"  # e_type = ET_EXEC                / p_paddr
    "0300"  # e_machine = EM_386
    "20000100"  # e_version                   / p_filesz = 0x10020
    "20000100"  # e_entry = 0x10020           / p_memsz
    "04000000"  # e_phoff = 4                 / p_flags = PF_R
    "b32a31c0"  # e_shoff: mov bl, 42; xor eax, eax   / p_align
    "40cd8000"  # e_flags: inc eax; int 0x80
    "3400"  # e_ehsize
    "2000"  # e_phentsize
    "01"  # e_phnum (its high byte is past EOF and reads 0)
)
BASE = 0x400000
MESSAGE = b"hello IDBS engineering\n"


def elf32(machine: int, code: Callable[[int], bytes], message: bytes) -> bytes:
    """A plain ELF32 (no overlap): Ehdr, one RX PT_LOAD, code, message; ``code(message_address)``."""
    start = 52 + 32
    body = code(BASE + start + len(code(0))) + message
    size = start + len(body)
    ident = b"\x7fELF\x01\x01\x01" + bytes(9)
    ehdr = struct.pack("<16sHHIIIIIHHHHHH", ident, 2, machine, 1, BASE + start, 52, 0, 0, 52, 32, 1, 0, 0, 0)
    phdr = struct.pack("<8I", 1, 0, BASE, BASE, size, size, 5, 0x1000)
    return ehdr + phdr + body


def elf64(machine: int, code: Callable[[int], bytes], message: bytes, order: str = "<") -> bytes:
    """A plain ELF64: Ehdr, one RX PT_LOAD, code, message."""
    start = 64 + 56
    body = code(BASE + start + len(code(0))) + message
    size = start + len(body)
    ident = b"\x7fELF\x02" + (b"\x01" if order == "<" else b"\x02") + b"\x01" + bytes(9)
    ehdr = struct.pack(
        order + "16sHHIQQQIHHHHHH", ident, 2, machine, 1, BASE + start, 64, 0, 0, 64, 56, 1, 0, 0, 0
    )
    phdr = struct.pack(order + "IIQQQQQQ", 1, 5, 0, BASE, BASE, size, size, 0x1000)
    return ehdr + phdr + body


def i386_hello(message_address: int) -> bytes:
    return (
        b"\xb9" + struct.pack("<I", message_address)  # mov ecx, message
        + bytes([0xB2, len(MESSAGE)])  # mov dl, len (edx is 0 at entry)
        + b"\xb3\x01\xb0\x04\xcd\x80"  # mov bl, 1; mov al, 4; int 0x80: write
        + b"\x31\xdb\xb0\x01\xcd\x80"  # xor ebx, ebx; mov al, 1; int 0x80: exit
    )


def amd64_hello(message_address: int) -> bytes:
    lea_end = BASE + 120 + 12
    return (
        b"\x6a\x01\x58\x89\xc7"  # push 1; pop rax; mov edi, eax
        + b"\x48\x8d\x35" + struct.pack("<i", message_address - lea_end)  # lea rsi, [rip + message]
        + bytes([0xB2, len(MESSAGE)])  # mov dl, len
        + b"\xeb\x01\xcc"  # jmp over an int3 that must not be decoded
        + b"\x0f\x05"  # syscall: write
        + b"\xb0\x3c\x31\xff\x0f\x05"  # mov al, 60; xor edi, edi; syscall: exit
    )


def arm64_hello(message_address: int) -> bytes:
    adr_pc = BASE + 120 + 12
    delta = message_address - adr_pc
    adr = 0x10000001 | (delta & 3) << 29 | ((delta >> 2) & 0x7FFFF) << 5  # adr x1, message
    words = [
        0xD2800020,  # mov x0, #1
        0x14000002,  # b over the next word
        0xDEADBEEF,  # never executed
        adr,
        0xD2800002 | len(MESSAGE) << 5,  # mov x2, #len
        0xD2800808,  # mov x8, #64 (write)
        0xD4000001,  # svc #0
        0xD2800000,  # mov x0, #0
        0xD2800BA8,  # mov x8, #93 (exit)
        0xD4000001,  # svc #0
    ]
    return struct.pack(f"<{len(words)}I", *words)


def by_label(fields: tuple[Field, ...]) -> dict[str, Field]:
    return {f.label: f for f in fields}


def test_teensy_field_table() -> None:
    anatomy = dissect(TEENSY_45)
    fields = by_label(anatomy.fields)
    machine = fields["Elf32_Ehdr.e_machine"]
    assert (machine.offset, machine.size, machine.value, machine.meaning) == (18, 2, 3, "EM_386")
    assert machine.checked and machine.raw == b"\x03\x00"
    assert fields["Elf32_Ehdr.e_ident[EI_MAG]"].checked
    assert fields["Elf32_Ehdr.e_ident[EI_PAD]"].use is Use.IGNORED
    assert fields["Elf32_Ehdr.e_phentsize"].checked and fields["Elf32_Ehdr.e_phentsize"].value == 32
    assert fields["Elf32_Ehdr.e_entry"].meaning == "file offset 0x20"
    assert anatomy.layout.bits == 32 and anatomy.entry == 0x10020 and anatomy.problems == ()


def test_teensy_program_header_overlaps_the_elf_header() -> None:
    anatomy = dissect(TEENSY_45)
    fields = by_label(anatomy.fields)
    assert fields["Elf32_Ehdr.e_phoff"].meaning == "inside the ELF header"
    p_type = fields["Elf32_Phdr[0].p_type"]
    assert (p_type.offset, p_type.value, p_type.meaning) == (4, 1, "PT_LOAD")
    # e_shoff's bytes are also p_align and code: both fields, same range, both ignored
    shoff, align = fields["Elf32_Ehdr.e_shoff"], fields["Elf32_Phdr[0].p_align"]
    assert (shoff.offset, shoff.raw) == (align.offset, align.raw) == (32, b"\xb3\x2a\x31\xc0")
    assert shoff.use is align.use is Use.IGNORED
    assert fields["Elf32_Phdr[0].p_offset"].checked
    (segment,) = anatomy.segments
    assert (segment.vaddr, segment.filesz, segment.flag_text) == (0x10000, 0x10020, "R--")
    assert "past EOF" in fields["Elf32_Phdr[0].p_filesz"].meaning


def test_teensy_fields_past_eof_read_zero() -> None:
    fields = by_label(dissect(TEENSY_45).fields)
    phnum = fields["Elf32_Ehdr.e_phnum"]
    assert phnum.past_eof and phnum.raw == b"\x01" and phnum.value == 1
    assert phnum.meaning.startswith("partly past EOF, reads 0")
    for name in ("e_shentsize", "e_shnum", "e_shstrndx"):
        field = fields[f"Elf32_Ehdr.{name}"]
        assert field.past_eof and field.raw == b"" and field.value == 0
        assert field.meaning.startswith("past EOF, reads 0")
    assert not fields["Elf32_Ehdr.e_ehsize"].past_eof


def test_teensy_disassembly_stops_at_exit() -> None:
    code = disassemble(TEENSY_45)
    assert [(i.offset, i.text) for i in code] == [
        (0x20, "mov bl, 0x2a"),
        (0x22, "xor eax, eax"),
        (0x24, "inc eax"),
        (0x25, "int 0x80"),
    ]
    assert code[-1].comment.startswith("exit(42)")
    assert code[0].raw == b"\xb3\x2a" and code[0].address == 0x10020


def test_bin_true_matches_pyelftools() -> None:
    data = Path("/bin/true").read_bytes()
    anatomy = dissect(data)
    header = ELFFile(io.BytesIO(data)).header
    assert anatomy.entry == header["e_entry"]
    assert EM[anatomy.machine] == header["e_machine"]
    assert anatomy.header["e_phnum"] == header["e_phnum"] == len(anatomy.segments)
    assert not [f for f in anatomy.fields if f.past_eof]
    code = disassemble(data)
    assert code and code[0].address == anatomy.entry
    assert code[0].offset == anatomy.file_offset(anatomy.entry)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (elf32(3, i386_hello, MESSAGE), "int 0x80"),
        (elf64(62, amd64_hello, MESSAGE), "syscall"),
        (elf64(183, arm64_hello, MESSAGE), "svc #0"),
    ],
    ids=["386", "amd64", "arm64"],
)
def test_hello_disassembly_reads_the_system_calls(data: bytes, needle: str) -> None:
    elf = ELFFile(io.BytesIO(data))
    anatomy = dissect(data)
    assert (anatomy.entry, EM[anatomy.machine]) == (elf.header["e_entry"], elf.header["e_machine"])
    (segment,) = anatomy.segments
    assert (segment.offset, segment.vaddr, segment.filesz) == (0, BASE, len(data))
    code = disassemble(data)
    calls = [i for i in code if i.text == needle]
    message_address = BASE + data.index(MESSAGE)
    assert [c.comment for c in calls] == [
        f"write(1, {message_address:#x}, {len(MESSAGE)})",
        "exit(0): does not return",
    ]
    assert code[-1] == calls[-1]


def test_unconditional_jumps_are_followed_and_skipped_bytes_left_out() -> None:
    amd64 = disassemble(elf64(62, amd64_hello, MESSAGE))
    jump = next(i for i in amd64 if i.mnemonic == "jmp")
    assert jump.comment == f"to file offset {jump.end + 1:#x}"
    assert jump.end not in {i.offset for i in amd64}  # the int3 it jumps over
    arm64 = disassemble(elf64(183, arm64_hello, MESSAGE))
    assert 120 + 8 not in {i.offset for i in arm64}  # the word the `b` jumps over


@pytest.mark.parametrize(
    ("code", "texts"),
    [
        (b"\xeb\xfe", ["jmp 0x400054"]),  # jmp to itself
        (b"\x40\xeb\xfd", ["inc eax", "jmp 0x400054"]),  # a loop
        (b"\x74\x01\xc3\xf4", ["je 0x400057", "ret", "hlt"]),  # both ways of a branch
        (b"\xe2\x01\xc3\xf4", ["loop 0x400057", "ret", "hlt"]),  # loop is a branch too
    ],
)
def test_loops_end_and_branches_go_both_ways(code: bytes, texts: list[str]) -> None:
    data = elf32(3, lambda _: code, b"")
    assert [i.text for i in disassemble(data)] == texts


def test_data_ranges_are_not_disassembled() -> None:
    data = elf32(3, lambda _: b"\x90\x90", b"\x90\x90")  # two nops of code, two bytes of "message"
    assert [i.offset for i in disassemble(data)] == [84, 85, 86, 87]
    assert [i.offset for i in disassemble(data, data_ranges=[(86, 88)])] == [84, 85]


def test_call_over_the_message_then_pop_finds_its_address() -> None:
    message = b"hi\n"
    code = (
        b"\xe8" + struct.pack("<i", len(message)) + message  # call over the message: pushes its address
        + b"\x59\xb2\x03\xb3\x01\xb0\x04\xcd\x80"  # pop ecx; mov dl, 3; mov bl, 1; mov al, 4; int 0x80
    )
    data = elf32(3, lambda _: code, b"")
    message_at = 84 + 5
    insns = disassemble(data, data_ranges=[(message_at, message_at + len(message))])
    assert all(not message_at <= i.offset < message_at + len(message) for i in insns)
    assert insns[-1].comment == f"write(1, {BASE + message_at:#x}, 3)"


def test_truncated_program_header_table_is_a_problem() -> None:
    data = elf64(62, amd64_hello, MESSAGE)[:100]
    anatomy = dissect(data)
    fields = by_label(anatomy.fields)
    assert fields["Elf64_Phdr[0].p_memsz"].past_eof
    assert "the loader reads the program headers in full" in fields["Elf64_Phdr[0].p_memsz"].meaning
    assert any("past EOF" in p for p in anatomy.problems)


def test_big_endian_is_read_big_endian() -> None:
    data = elf64(21, lambda _: b"\x60\x00\x00\x00", b"", order=">")
    anatomy = dissect(data)
    elf = ELFFile(io.BytesIO(data))
    assert anatomy.layout.byteorder == "big"
    assert (anatomy.entry, EM[anatomy.machine]) == (elf.header["e_entry"], elf.header["e_machine"])
    assert disassemble(data) == []  # no disassembler for ppc64: no code, no error


def test_loader_rule_violations_are_reported() -> None:
    broken = bytearray(TEENSY_45)
    broken[42] = 40  # e_phentsize
    broken[16] = 1  # e_type = ET_REL
    problems = " ".join(dissect(bytes(broken)).problems)
    assert "e_phentsize is 40" in problems and "e_type is 1" in problems


def test_not_an_elf_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="not an ELF"):
        dissect(b"#!/bin/sh\n")
