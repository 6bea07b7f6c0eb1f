"""The one ELF fact the ladder needs: the program interpreter (PT_INTERP) a file asks for."""

from __future__ import annotations

import struct

ELF_MAGIC = b"\x7fELF"
PT_INTERP = 3
# Per class: (word format, offset of e_phoff, of e_phentsize, of p_offset and p_filesz in a phdr)
_ELF32 = ("<I", 28, 42, 4, 16)
_ELF64 = ("<Q", 32, 54, 8, 32)


def interpreter(data: bytes) -> str | None:
    """The path in PT_INTERP (e.g. ``/lib64/ld-linux-x86-64.so.2``), or None for a static file.

    Only little-endian ELF32/ELF64 are read; anything else (or a truncated header) is None.
    """
    if data[:4] != ELF_MAGIC or len(data) < 64 or data[5] != 1:
        return None
    layout = _ELF64 if data[4] == 2 else _ELF32
    word, phoff_at, entsize_at, p_offset_at, p_filesz_at = layout
    (phoff,) = struct.unpack_from(word, data, phoff_at)
    phentsize, phnum = struct.unpack_from("<HH", data, entsize_at)
    for index in range(phnum):
        header = phoff + index * phentsize
        if header + phentsize > len(data):
            return None
        (p_type,) = struct.unpack_from("<I", data, header)
        if p_type != PT_INTERP:
            continue
        (offset,) = struct.unpack_from(word, data, header + p_offset_at)
        (size,) = struct.unpack_from(word, data, header + p_filesz_at)
        raw = data[offset : offset + size]
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")
    return None
