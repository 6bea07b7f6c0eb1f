"""An annotated hexdump of a tiny ELF, to read like Brian Raiter's "teensy" article.

Pure: bytes in, text out. Each row is a byte range whose roles do not change inside it; the
columns say which ELF header field, which program header field, and which instruction or
message bytes it is, all at once, since hand-made executables make one byte play several.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby, pairwise

from imagegolf.elf.anatomy import EM, ET, ET_DYN, Anatomy, Field, Use, dissect
from imagegolf.elf.disasm import MAX_INSTRUCTIONS, Instruction, disassemble
from imagegolf.elf.spec import EM_386, EM_AARCH64, EM_X86_64, PAGE

ARCH_NAMES: dict[int, str] = {EM_386: "i386", EM_X86_64: "x86-64", EM_AARCH64: "arm64"}
_GAP = "│"  # a field or instruction that began on an earlier row


@dataclass(frozen=True)
class _Row:
    start: int
    end: int
    cells: tuple[str, str, str]  # ELF header, program headers, code and data

    def __len__(self) -> int:
        return self.end - self.start


def annotate(data: bytes, *, message: bytes | None = None, width: int = 16) -> str:
    """Summary, annotated bytes and disassembly of the ELF file ``data``.

    ``message``, when given and found in the file, is marked as data and kept out of the
    disassembly. ``width`` is the most bytes one row shows.
    """
    anatomy = dissect(data)
    found = data.find(message) if message else -1
    span = (found, found + len(message)) if message and found >= 0 else None
    code = disassemble(data, anatomy=anatomy, data_ranges=[span] if span else [])
    rows = list(_rows(data, anatomy, code, span, max(width, 1)))
    return "\n".join([
        *_summary(data, anatomy, code, span, message),
        "",
        *_table(rows, data, anatomy, max(width, 1)),
        "",
        *_listing(code),
    ]) + "\n"


def _summary(
    data: bytes, anatomy: Anatomy, code: Sequence[Instruction], span: tuple[int, int] | None,
    message: bytes | None,
) -> Iterator[str]:
    layout, header = anatomy.layout, anatomy.header
    order = "LSB" if layout.byteorder == "little" else "MSB"
    machine = header["e_machine"]
    arch = ARCH_NAMES.get(machine, EM.get(machine, f"machine {machine}"))
    kind = ET.get(header["e_type"], f"e_type {header['e_type']}")
    yield f"ELF{layout.bits} {order} {arch} {kind}, {len(data)} bytes"
    ident = [f for f in anatomy.fields if f.name in ("e_ident[EI_CLASS]", "e_ident[EI_DATA]")]
    said = ", ".join(f"{f.name[8:-1]} {f.value!r} ({f.meaning})" for f in ident)
    yield f"  layout    ELF{layout.bits} {order}, chosen by e_machine {machine} as the kernel does"
    yield f"            ({said}: never checked)"
    entry_at = anatomy.file_offset(anatomy.entry)
    where = f"file offset {entry_at:#x}" if entry_at is not None else "not mapped from the file"
    yield f"  entry     {anatomy.entry:#x} = {where}"
    if anatomy.loads:
        base = min(s.vaddr - s.vaddr % PAGE for s in anatomy.loads)
        bias = " plus a random base (ET_DYN)" if header["e_type"] == ET_DYN else ""
        yield f"  load at   {base:#x}{bias}"
    for s in anatomy.segments:
        yield (f"  segment   [{s.index}] {s.type_name} {s.flag_text} offset {s.offset:#x} vaddr {s.vaddr:#x} "
               f"filesz {s.filesz:#x} memsz {s.memsz:#x}")
    yield from _overlaps(data, anatomy)
    if message is not None:
        text = repr(message)[1:]
        yield f"  message   {text} at {span[0]:#x}..{span[1]:#x}" if span else f"  message   {text} not found"
    if code:
        capped = f" (stopped at the cap of {MAX_INSTRUCTIONS})" if len(code) >= MAX_INSTRUCTIONS else ""
        yield f"  code      {len(code)} instructions from the entry point{capped}"
    for problem in anatomy.problems:
        yield f"  PROBLEM   {problem}"
    yield "  legend    [checked]: the exec fails unless the field obeys the loader's rule; [used]: the loader"
    yield "            reads it; untagged: the loader ignores it (free bytes); │: continued from above"


def _overlaps(data: bytes, anatomy: Anatomy) -> Iterator[str]:
    layout, header = anatomy.layout, anatomy.header
    table_end = header["e_phoff"] + header["e_phnum"] * layout.phdr_size
    if anatomy.segments and header["e_phoff"] < layout.ehdr_size:
        yield (f"  overlap   program headers {header['e_phoff']:#x}..{table_end:#x} overlap the ELF header "
               f"0x0..{layout.ehdr_size:#x}")
    if len(data) < layout.ehdr_size:
        missing = layout.ehdr_size - len(data)
        yield f"  short     the ELF header ends at {layout.ehdr_size:#x}: its last {missing} bytes read as 0"


def _rows(
    data: bytes, anatomy: Anatomy, code: Sequence[Instruction], span: tuple[int, int] | None, width: int
) -> Iterator[_Row]:
    ehdr = [f for f in anatomy.fields if f.struct == anatomy.layout.ehdr]
    phdr = [f for f in anatomy.fields if f.struct != anatomy.layout.ehdr]
    end = max([len(data), *(f.end for f in ehdr)])
    cuts = {0, end, len(data)}
    cuts |= {f.offset for f in anatomy.fields} | {min(f.end, end) for f in anatomy.fields}
    cuts |= {i.offset for i in code} | {i.end for i in code}
    if span:
        cuts |= set(span)
    edges = sorted(c for c in cuts if 0 <= c <= end)
    for start, stop in pairwise(edges):
        for first in range(start, stop, width):
            last = min(first + width, stop)
            cells = (
                _field_cell(ehdr, first),
                _field_cell(phdr, first, struct=True),
                _data_cell(data, code, span, first, last),
            )
            if not any(cells) and stop - first > 2 * width:
                yield _Row(first, stop, cells)  # roles change only at edges: all of it plays none
                break
            yield _Row(first, last, cells)


def _field_cell(fields: Sequence[Field], at: int, *, struct: bool = False) -> str:
    for f in fields:
        if f.offset == at:
            name = f.name.removeprefix("e_ident[").removesuffix("]") if "[" in f.name else f.name
            if struct:  # "Elf32_Phdr[0]" → "[0].p_type"; the column header names the struct
                name = f"{f.struct.split('_', 1)[1].removeprefix('Phdr')}.{name}"
            tag = "" if f.use is Use.IGNORED else f" [{f.use.value}]"
            meaning = f" {f.meaning}" if f.meaning else ""
            return f"{name} = {_value_text(f)}{meaning}{tag}"
        if f.offset < at < f.end:
            return _GAP
    return ""


def _value_text(f: Field) -> str:
    if isinstance(f.value, bytes):
        return repr(f.value)[1:] if f.name == "e_ident[EI_MAG]" else f.value.hex(" ")
    return str(f.value) if f.size <= 2 or f.value < 10 else f"{f.value:#x}"  # Half fields are counts


def _data_cell(
    data: bytes, code: Sequence[Instruction], span: tuple[int, int] | None, first: int, last: int
) -> str:
    parts = []
    for i in code:
        if i.offset == first:
            parts.append(i.text + (f"  ; {i.comment}" if i.comment else ""))
        elif i.offset < first < i.end:
            parts.append(_GAP)
    if span and span[0] <= first < span[1]:
        parts.append("message " + repr(data[first:last])[1:])
    if first >= len(data):
        parts.append("(past EOF)")
    return " / ".join(parts)


def _table(rows: Sequence[_Row], data: bytes, anatomy: Anatomy, width: int) -> Iterator[str]:
    if not rows:
        return
    hex_width = max((len(r) * 3 - 1 for r in rows if any(r.cells) or len(r) <= 2 * width), default=5)
    heads = (anatomy.layout.ehdr, anatomy.layout.phdr, "code / data")
    widths = [max([len(heads[c]), *(len(r.cells[c]) for r in rows)]) for c in range(2)] + [0]

    def line(offset: str, shown: str, cells: Sequence[str]) -> str:
        padded = (c.ljust(w) for c, w in zip(cells, widths, strict=True))
        return "  ".join([offset.ljust(6), shown.ljust(hex_width), *padded]).rstrip()

    yield line("offset", "bytes", heads)
    for quiet, group in groupby(rows, key=lambda r: not any(r.cells)):
        run = list(group)
        start, end = run[0].start, run[-1].end
        if quiet and end - start > 2 * width:  # bytes that play no role fold into one line
            yield f"{start:06x}  … {end - start} bytes to {end:#x}: no header field, code or message"
            continue
        for row in run:
            past_eof = ["--"] * (row.end - max(row.start, len(data)))
            shown = " ".join([*(f"{b:02x}" for b in data[row.start : row.end]), *past_eof])
            yield line(f"{row.start:06x}", shown, row.cells)


def _listing(code: Sequence[Instruction]) -> Iterator[str]:
    if not code:
        yield "disassembly: none (entry point not mapped from the file, or machine not supported)"
        return
    yield "disassembly from e_entry (following jumps; stops at exit, return or invalid bytes):"
    raw_width = max(len(i.raw) for i in code) * 3
    for i in code:
        comment = f"  ; {i.comment}" if i.comment else ""
        yield f"  {i.offset:06x}  {i.address:#x}  {i.raw.hex(' '):<{raw_width}} {i.text}{comment}"
