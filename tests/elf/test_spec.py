"""spec.py, the one declaration of the ELF format: its numbers against pyelftools', and the
platform table and the built programs against it."""

from __future__ import annotations

import enum

import pytest
from elftools.elf import enums

from imagegolf.elf import spec
from imagegolf.elf.catalog import LAYOUTS
from imagegolf.platform import ARCHES, Arch

PYELFTOOLS = [
    (spec.ElfClass, enums.ENUM_EI_CLASS),
    (spec.ElfData, enums.ENUM_EI_DATA),
    (spec.OsAbi, enums.ENUM_EI_OSABI),
    (spec.FileType, enums.ENUM_E_TYPE),
    (spec.Machine, enums.ENUM_E_MACHINE),
    (spec.Version, enums.ENUM_E_VERSION),
    (spec.SegmentType, enums.ENUM_P_TYPE_BASE),
]

PYELFTOOLS_NAME = {"EM_486": "EM_IAMCU"}  # 6: Linux's elf-em.h keeps the old name, glibc's <elf.h> the new


@pytest.mark.parametrize(("kind", "theirs"), PYELFTOOLS, ids=lambda k: getattr(k, "__name__", ""))
def test_constants_match_pyelftools(kind: type[enum.IntEnum], theirs: dict[str, int]) -> None:
    theirs_by_name = {m.name: theirs[PYELFTOOLS_NAME.get(m.name, m.name)] for m in kind}
    assert {m.name: m.value for m in kind} == theirs_by_name


def test_name_of() -> None:
    assert spec.name_of(spec.Machine, 62) == "EM_X86_64"
    assert spec.name_of(spec.SegmentType, 0x6474E551) == "PT_GNU_STACK"
    assert spec.name_of(spec.Machine, 9999) is None


@pytest.mark.parametrize("struct", [spec.ELF32_EHDR, spec.ELF64_EHDR, spec.ELF32_PHDR, spec.ELF64_PHDR])
@pytest.mark.parametrize("byteorder", ["little", "big"])
def test_codec_reads_what_fields_read(struct: spec.Struct, byteorder: spec.ByteOrder) -> None:
    data = bytes(range(7, 7 + struct.size))
    values = struct.codec(byteorder).unpack(data)
    assert struct.codec(byteorder).size == struct.size
    for field, value in zip(struct.fields, values, strict=True):
        raw = data[field.offset : field.offset + field.size]
        assert value == (field.read(data, byteorder) if field.numeric else raw)


def test_field_reads_zeros_past_the_end() -> None:
    assert spec.ELF64_EHDR["e_machine"].read(b"\x7fELF\2\1\1" + bytes(11) + b"\x3e", "little") == 0x3E


@pytest.mark.parametrize("arch", ARCHES.values(), ids=lambda a: a.oci)
def test_platform_table_agrees_with_spec(arch: Arch) -> None:
    """platform.Arch keeps each architecture's e_machine, class and byte order (the judge reads them
    there: platform sits below elf/); they must be spec's numbers."""
    machine = spec.Machine(arch.elf_machine)
    elf_class = spec.ElfClass(arch.elf_class)
    assert spec.ONE_CLASS.get(machine, elf_class) == elf_class
    built = [layout for layout in LAYOUTS if layout.architecture == arch.oci]
    order: spec.ByteOrder = "big" if arch.big_endian else "little"
    for layout in built:
        program = layout.build(b"hello")  # argv layouts ignore it
        assert spec.ELF64_EHDR["e_machine"].read(program, order) == machine, layout.name
