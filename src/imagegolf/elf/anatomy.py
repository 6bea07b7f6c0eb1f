"""The anatomy of an ELF file: every header field, where it sits, what it says, whether Linux reads it.

Pure: bytes in, values out. Built for hand-made executables, where the program header table
overlaps the ELF header, code hides in fields the loader ignores and the file may end inside
the header. The layout (32/64-bit, endianness) is the one the Linux loader uses: the binfmt
that accepts ``e_machine`` fixes it; EI_CLASS and EI_DATA are never checked (docs/elf.md).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from imagegolf.elf import spec
from imagegolf.elf.spec import (
    ELF_MAGIC,
    ET_DYN,
    ET_EXEC,
    PAGE,
    PF_R,
    PF_W,
    PF_X,
    PT_GNU_PROPERTY,
    PT_GNU_STACK,
    PT_INTERP,
    PT_LOAD,
    ElfClass,
    ElfData,
    FileType,
    Machine,
    OsAbi,
    SegmentType,
    Version,
)
from imagegolf.errors import BadInputError

__all__ = [  # the constants the judge reads files with, and the anatomy
    "ELF_MAGIC", "EM", "ET", "ET_DYN", "ET_EXEC", "PT", "PT_INTERP",
    "Anatomy", "Field", "Layout", "Segment", "Use", "dissect",
]  # fmt: skip

MAX_PHNUM = 64  # a cap for display: hostile files may claim 65535 program headers


def _names(kind: type[enum.IntEnum]) -> dict[int, str]:
    return {member.value: member.name for member in kind}


# What a reader prints for a value: its <elf.h> name.
ELFCLASS, ELFDATA, ELFOSABI, EV = _names(ElfClass), _names(ElfData), _names(OsAbi), _names(Version)
ET, EM, PT = _names(FileType), _names(Machine), _names(SegmentType)


class Use(enum.Enum):
    """What the Linux loader (fs/binfmt_elf.c) does with a field."""

    CHECKED = "checked"  # the exec fails unless the field obeys a rule
    USED = "used"  # read and acted on, any value accepted
    IGNORED = "ignored"  # never read: free bytes for code or data


@dataclass(frozen=True)
class Layout:
    """The word size and byte order the loader reads the headers with."""

    bits: Literal[32, 64]
    byteorder: spec.ByteOrder

    @property
    def elf_class(self) -> ElfClass:
        return ElfClass.ELFCLASS32 if self.bits == 32 else ElfClass.ELFCLASS64

    @property
    def ehdr_struct(self) -> spec.Struct:
        return spec.EHDR[self.elf_class]

    @property
    def phdr_struct(self) -> spec.Struct:
        return spec.PHDR[self.elf_class]

    @property
    def ehdr(self) -> str:
        return self.ehdr_struct.name

    @property
    def phdr(self) -> str:
        return self.phdr_struct.name

    @property
    def ehdr_size(self) -> int:
        return self.ehdr_struct.size

    @property
    def phdr_size(self) -> int:
        return self.phdr_struct.size


@dataclass(frozen=True)
class Field:
    """One header field as it sits in the file."""

    offset: int
    size: int
    struct: str  # "Elf32_Ehdr", "Elf32_Phdr[0]"
    name: str  # "e_machine", "e_ident[EI_PAD]"
    raw: bytes  # the bytes in the file: shorter than size where the field runs past EOF
    value: int | bytes  # as the loader reads it (zeros past EOF)
    meaning: str  # "EM_386", "past EOF, reads 0"
    use: Use
    rule: str = ""  # what the loader requires or does, when it reads the field

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def label(self) -> str:
        return f"{self.struct}.{self.name}"

    @property
    def checked(self) -> bool:
        return self.use is Use.CHECKED

    @property
    def past_eof(self) -> bool:
        return len(self.raw) < self.size


@dataclass(frozen=True)
class Segment:
    """One program header, decoded."""

    index: int
    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int
    align: int

    @property
    def type_name(self) -> str:
        return PT.get(self.type, hex(self.type))

    @property
    def flag_text(self) -> str:
        return "".join(c if self.flags & bit else "-" for c, bit in (("R", PF_R), ("W", PF_W), ("X", PF_X)))

    def file_offset(self, vaddr: int) -> int | None:
        """The file offset a PT_LOAD maps at ``vaddr``, or None.

        The kernel maps from the page start: ``vaddr - ELF_PAGEOFFSET(p_vaddr)`` comes from
        ``p_offset - ELF_PAGEOFFSET(p_vaddr)``, so header bytes below p_vaddr are mapped too.
        """
        if self.type != PT_LOAD:
            return None
        page_offset = self.vaddr % PAGE
        start = self.vaddr - page_offset
        if not start <= vaddr < self.vaddr + self.filesz or self.offset < page_offset:
            return None
        return self.offset - page_offset + (vaddr - start)


@dataclass(frozen=True)
class Anatomy:
    """Everything the headers of one ELF file say."""

    size: int  # file size in bytes
    layout: Layout
    header: Mapping[str, int]  # e_type … e_shstrndx as the loader reads them
    segments: tuple[Segment, ...]
    fields: tuple[Field, ...]
    problems: tuple[str, ...]  # loader rules the file breaks

    @property
    def machine(self) -> int:
        return self.header["e_machine"]

    @property
    def entry(self) -> int:
        return self.header["e_entry"]

    @property
    def loads(self) -> tuple[Segment, ...]:
        return tuple(s for s in self.segments if s.type == PT_LOAD)

    def file_offset(self, vaddr: int) -> int | None:
        """The file offset the loader maps at ``vaddr``, if a PT_LOAD maps it from the file."""
        return _mapped(self.segments, self.size, vaddr)


def dissect(data: bytes) -> Anatomy:
    """Read every ELF and program header field of ``data`` the way the Linux loader does."""
    if data[:4] != ELF_MAGIC:
        raise BadInputError(
            "not an ELF file: it does not start with \\x7fELF",
            hint="explain takes the executable an image runs",
        )
    layout = _choose_layout(data)
    fields = _ehdr_fields(data, layout)
    header = {
        f.name: f.value for f in fields if not f.name.startswith("e_ident") and isinstance(f.value, int)
    }
    segments, phdr_fields = _program_headers(data, layout, header)
    fields += phdr_fields
    fields = [_explain(f, data, layout, header, segments) for f in fields]
    return Anatomy(
        size=len(data),
        layout=layout,
        header=header,
        segments=tuple(segments),
        fields=tuple(fields),
        problems=tuple(_problems(data, layout, header, segments)),
    )


def _choose_layout(data: bytes) -> Layout:
    # e_machine is at the same offset in both classes; the binfmt that accepts it reads the rest.
    ident_class = spec.ELF32_EHDR["e_ident[EI_CLASS]"].read(data, "little")
    ident_data = spec.ELF32_EHDR["e_ident[EI_DATA]"].read(data, "little")
    orders: tuple[spec.ByteOrder, ...] = (
        ("big", "little") if ident_data == ElfData.ELFDATA2MSB else ("little", "big")
    )
    for order in orders:
        one_class = spec.ONE_CLASS.get(spec.ELF32_EHDR["e_machine"].read(data, order))
        if one_class is not None:
            return Layout(one_class.bits, order)
    return Layout(64 if ident_class == ElfClass.ELFCLASS64 else 32, orders[0])


def _field(
    data: bytes, layout: Layout, struct: str, name: str, offset: int, size: int, numeric: bool
) -> Field:
    raw = data[offset : offset + size]
    padded = raw.ljust(size, b"\0")
    value: int | bytes = int.from_bytes(padded, layout.byteorder) if numeric else padded
    return Field(offset, size, struct, name, raw, value, "", Use.IGNORED)


def _ehdr_fields(data: bytes, layout: Layout) -> list[Field]:
    struct = layout.ehdr_struct
    return [_field(data, layout, struct.name, f.name, f.offset, f.size, f.numeric) for f in struct.fields]


_SEGMENT_ORDER = ("p_type", "p_flags", "p_offset", "p_vaddr", "p_filesz", "p_memsz", "p_align")


def _program_headers(
    data: bytes, layout: Layout, header: Mapping[str, int]
) -> tuple[list[Segment], list[Field]]:
    segments: list[Segment] = []
    fields: list[Field] = []
    for index in range(min(header["e_phnum"], MAX_PHNUM)):
        base = header["e_phoff"] + index * layout.phdr_size
        if base >= len(data):
            break  # nothing of it in the file: the loader rejects the file (see _problems)
        struct = f"{layout.phdr}[{index}]"
        values: dict[str, int] = {}
        for member in layout.phdr_struct.fields:
            field = _field(data, layout, struct, member.name, base + member.offset, member.size, True)
            assert isinstance(field.value, int)
            values[member.name] = field.value
            fields.append(field)
        segments.append(Segment(index, *(values[n] for n in _SEGMENT_ORDER)))
    return segments, fields


def _explain(
    field: Field, data: bytes, layout: Layout, header: Mapping[str, int], segments: list[Segment]
) -> Field:
    if field.struct == layout.ehdr:
        use, rule = _ehdr_use(field.name, header["e_machine"])
        meaning = _ehdr_meaning(field, data, layout, header, segments)
    else:
        segment = segments[int(field.struct.split("[")[1].rstrip("]"))]
        use, rule = _phdr_use(field.name, segment.type, header["e_type"])
        meaning = _phdr_meaning(field, segment, len(data), _reads_imply_exec(header, segments))
    if field.past_eof:
        in_file = "partly past EOF" if field.raw else "past EOF"
        if field.struct == layout.ehdr:
            # binfmt_elf reads the ELF header into a 256-byte buffer, zero-filled past EOF.
            eof = f"{in_file}, reads 0"
        else:
            eof = f"{in_file}: the loader reads the program headers in full and fails"
        meaning = f"{eof}; {meaning}" if meaning else eof
    return replace(field, meaning=meaning, use=use, rule=rule)


# What binfmt_elf does with the ELF header; every field not named here is ignored.
_EHDR_RULES = {
    "e_ident[EI_MAG]": (Use.CHECKED, "must be \\x7fELF"),
    "e_type": (Use.CHECKED, "must be ET_EXEC or ET_DYN"),
    "e_machine": (Use.CHECKED, "must match the kernel: 62 (or 3 through ia32 emulation), 183 on arm64"),
    "e_entry": (Use.USED, "where execution starts"),
    "e_phoff": (Use.USED, "where the program header table starts"),
    "e_phentsize": (Use.CHECKED, "must be sizeof(ElfN_Phdr): 32 or 56"),
    "e_phnum": (Use.CHECKED, "must be at least 1"),
}


_ABI_IN_FLAGS = (Machine.EM_MIPS, Machine.EM_ARM)  # ARM EABI and MIPS ABI flags; x86 and arm64 ignore them


def _ehdr_use(name: str, machine: int) -> tuple[Use, str]:
    if name == "e_flags" and machine in _ABI_IN_FLAGS:
        return Use.CHECKED, "must name an ABI this kernel runs"
    return _EHDR_RULES.get(name, (Use.IGNORED, ""))


# What binfmt_elf does with a PT_LOAD; p_paddr is never read, p_align only for ET_DYN.
_LOAD_RULES = {
    "p_offset": (Use.CHECKED, "p_offset ≡ p_vaddr (mod page size)"),
    "p_vaddr": (Use.USED, "maps at this address (ET_EXEC) or this plus a random base (ET_DYN)"),
    "p_filesz": (Use.CHECKED, "p_filesz ≤ p_memsz; may run past EOF"),
    "p_memsz": (Use.USED, "memory size; counts against RLIMIT_AS"),
    "p_flags": (Use.USED, "only PF_R, PF_W, PF_X matter"),
}


def _phdr_use(name: str, p_type: int, e_type: int) -> tuple[Use, str]:
    if name == "p_type":
        return Use.USED, "the loader acts on PT_LOAD, PT_INTERP, PT_GNU_STACK, PT_GNU_PROPERTY"
    if p_type == PT_LOAD and name == "p_align" and e_type == ET_DYN:
        return Use.USED, "aligns the load bias of an ET_DYN"
    if p_type == PT_LOAD:
        return _LOAD_RULES.get(name, (Use.IGNORED, ""))
    if p_type in (PT_INTERP, PT_GNU_PROPERTY) and name in ("p_offset", "p_filesz"):
        return Use.USED, "where the loader reads the interpreter path / property note"
    if p_type == PT_GNU_STACK and name == "p_flags":
        return Use.USED, "PF_X asks for an executable stack"
    return Use.IGNORED, ""


def _ehdr_meaning(
    field: Field, data: bytes, layout: Layout, header: Mapping[str, int], segments: list[Segment]
) -> str:
    value, name = field.value, field.name
    if isinstance(value, bytes):
        return "ELF magic" if name == "e_ident[EI_MAG]" else ""
    tables: dict[str, Mapping[int, str]] = {
        "e_ident[EI_CLASS]": ELFCLASS,
        "e_ident[EI_DATA]": ELFDATA,
        "e_ident[EI_VERSION]": EV,
        "e_ident[EI_OSABI]": ELFOSABI,
        "e_type": ET,
        "e_machine": EM,
        "e_version": EV,
    }
    if name in tables:
        return tables[name].get(value, "invalid" if name in ("e_ident[EI_CLASS]", "e_ident[EI_DATA]") else "")
    if name == "e_entry":
        offset = _mapped(segments, len(data), value)
        return f"file offset {offset:#x}" if offset is not None else "not mapped from the file"
    if name == "e_phoff" and 0 < value < layout.ehdr_size:
        return "inside the ELF header"
    if name == "e_ehsize" and value == layout.ehdr_size:
        return f"sizeof({layout.ehdr})"
    if name == "e_phentsize":
        return f"sizeof({layout.phdr})" if value == layout.phdr_size else f"loader needs {layout.phdr_size}"
    return ""


def _reads_imply_exec(header: Mapping[str, int], segments: list[Segment]) -> bool:
    # An ia32 binary without PT_GNU_STACK gets READ_IMPLIES_EXEC; x86-64 and arm64 need PF_X.
    return header["e_machine"] == Machine.EM_386 and all(s.type != PT_GNU_STACK for s in segments)


def _phdr_meaning(field: Field, segment: Segment, size: int, reads_imply_exec: bool) -> str:
    name = field.name
    if name == "p_type":
        return segment.type_name
    if name == "p_flags":
        if reads_imply_exec and segment.flags & PF_R and not segment.flags & PF_X:
            return f"{segment.flag_text} (ia32: R implies X)"
        return segment.flag_text
    if name == "p_filesz" and segment.type == PT_LOAD and segment.offset + segment.filesz > size:
        return f"maps {segment.offset + segment.filesz - size} bytes past EOF"
    return ""


def _mapped(segments: Sequence[Segment], size: int, vaddr: int) -> int | None:
    for segment in segments:
        offset = segment.file_offset(vaddr)
        if offset is not None and offset < size:
            return offset
    return None


def _problems(data: bytes, layout: Layout, header: Mapping[str, int], segments: list[Segment]) -> list[str]:
    found = []
    if header["e_type"] not in (ET_EXEC, ET_DYN):
        found.append(f"e_type is {header['e_type']}: the loader runs only ET_EXEC (2) and ET_DYN (3)")
    if header["e_phentsize"] != layout.phdr_size:
        found.append(f"e_phentsize is {header['e_phentsize']}: the loader requires {layout.phdr_size}")
    phnum = header["e_phnum"]
    if phnum == 0:
        found.append("e_phnum is 0: the loader requires at least one program header")
    table_end = header["e_phoff"] + phnum * layout.phdr_size
    if phnum and table_end > len(data):
        found.append(
            f"the program header table ends at {table_end:#x}, past EOF ({len(data):#x}): "
            "the loader reads it in full and fails"
        )
    if phnum > MAX_PHNUM:
        found.append(f"e_phnum is {phnum}: only the first {MAX_PHNUM} are shown")
    for s in segments:
        if s.type != PT_LOAD:
            continue
        if s.offset % PAGE != s.vaddr % PAGE:
            found.append(f"segment {s.index}: p_offset {s.offset:#x} ≢ p_vaddr {s.vaddr:#x} (mod page size)")
        if s.filesz > s.memsz:
            found.append(f"segment {s.index}: p_filesz {s.filesz:#x} > p_memsz {s.memsz:#x}")
    if _mapped(segments, len(data), header["e_entry"]) is None:
        found.append(f"e_entry {header['e_entry']:#x} is not mapped from the file by any PT_LOAD")
    return found
