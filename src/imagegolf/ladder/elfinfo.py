"""The one ELF fact the ladder needs: the program interpreter (PT_INTERP) a file asks for."""

from __future__ import annotations

from imagegolf.elf import spec


def interpreter(data: bytes) -> str | None:
    """The path in PT_INTERP (e.g. ``/lib64/ld-linux-x86-64.so.2``), or None for a static file.

    Only little-endian ELF32/ELF64 are read; anything else (or a truncated header) is None.
    """
    ident = spec.ELF32_EHDR  # e_ident is the same in both classes
    if (
        data[:4] != spec.ELF_MAGIC
        or len(data) < spec.ELF64_EHDR.size
        or ident["e_ident[EI_DATA]"].read(data, "little") != spec.ELFDATA2LSB
    ):
        return None
    is64 = ident["e_ident[EI_CLASS]"].read(data, "little") == spec.ELFCLASS64
    ehdr, phdr = (spec.ELF64_EHDR, spec.ELF64_PHDR) if is64 else (spec.ELF32_EHDR, spec.ELF32_PHDR)
    phoff = ehdr["e_phoff"].read(data, "little")
    phentsize = ehdr["e_phentsize"].read(data, "little")
    for index in range(ehdr["e_phnum"].read(data, "little")):
        header = phoff + index * phentsize
        if header + phentsize > len(data):
            return None
        if phdr["p_type"].read(data, "little", base=header) != spec.PT_INTERP:
            continue
        offset = phdr["p_offset"].read(data, "little", base=header)
        size = phdr["p_filesz"].read(data, "little", base=header)
        raw = data[offset : offset + size]
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")
    return None
