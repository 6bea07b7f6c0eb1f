"""Deterministic layer tars: sorted entries, mtime 0, uid/gid as given (default 0), no user names.

Two shapes:
- standard: ustar headers (PAX records for long names), padded data, two end blocks; every tar
  reader accepts it.
- compact: the smallest bytes Go's archive/tar (Docker, containerd, podman) still reads; each
  shortcut is commented with the reader rule it relies on (docs/judge.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

from imagegolf.errors import BadInputError
from imagegolf.oci.tar_entry import DIRECTORY, FILE, HARDLINK, TYPEFLAG_OF_KIND, TarEntry
from imagegolf.oci.tar_header import (
    BLOCK,
    CHECKSUM,
    DEVMAJOR,
    DEVMINOR,
    GID,
    LINKNAME,
    MAGIC,
    MAGIC_USTAR,
    MODE,
    MTIME,
    NAME,
    PREFIX,
    SIZE,
    TYPEFLAG,
    UID,
    VERSION,
    VERSION_USTAR,
    Field,
    Typeflag,
)

END_OF_ARCHIVE = bytes(2 * BLOCK)


def write_tar(entries: Iterable[TarEntry], *, compact: bool = False) -> bytes:
    """The tar stream of ``entries``, sorted by path; ``compact`` takes the Go-reader shortcuts."""
    ordered = _sorted_targets_first(entries)
    out = bytearray()
    for entry in ordered:
        data = _content(entry)
        out += _header(entry, len(data), compact=compact)
        out += data + bytes(-len(data) % BLOCK)
    if compact:
        # Go's reader treats a clean EOF where a header or the padding would start as the end
        # of the archive (tar/reader.go tryReadFull): no end blocks, no padding after the last file.
        last_size = len(_content(ordered[-1])) if ordered else 0
        return bytes(out[: len(out) - (-last_size % BLOCK)])
    return bytes(out + END_OF_ARCHIVE)


def record_layer_tar(name: str, data: bytes, mode: int = 0o755) -> bytes:
    """The smallest layer tar holding one executable file: one compact header, then the data."""
    return write_tar([TarEntry.file(name, data, mode)], compact=True)


def _content(entry: TarEntry) -> bytes:
    if entry.kind != FILE:
        return b""
    if entry.data is None:
        raise BadInputError(f"tar entry {entry.path!r} is a file without data")
    return entry.data


def _sorted_targets_first(entries: Iterable[TarEntry]) -> list[TarEntry]:
    """Entries sorted by path, except that a hard link waits for its target (extraction needs it)."""
    ordered = sorted(entries, key=lambda entry: entry.path.strip("/"))
    for before, after in pairwise(ordered):
        if before.path.strip("/") == after.path.strip("/"):
            raise BadInputError(f"two tar entries named {before.path!r}")
    out: list[TarEntry] = []
    written: set[str] = set()
    waiting: dict[str, list[TarEntry]] = {}

    def emit(entry: TarEntry) -> None:
        out.append(entry)
        written.add(entry.path.strip("/"))
        for link in waiting.pop(entry.path.strip("/"), []):
            emit(link)

    for entry in ordered:
        target = entry.linkname.strip("/")
        if entry.kind == HARDLINK and target not in written:
            waiting.setdefault(target, []).append(entry)
        else:
            emit(entry)
    if waiting:
        raise BadInputError(f"hard links to missing targets: {sorted(waiting)}")
    return out


def _header(entry: TarEntry, size: int, *, compact: bool) -> bytes:
    name = entry.path.lstrip("/")
    if entry.kind == DIRECTORY and not name.endswith("/"):
        name += "/"
    name_bytes = name.encode()
    link_bytes = entry.linkname.encode()
    if not name_bytes or entry.kind not in TYPEFLAG_OF_KIND:
        raise BadInputError(f"cannot write tar entry {entry.path!r} of kind {entry.kind!r}")
    split = _split_ustar_name(name_bytes)
    if split is None or len(link_bytes) > 100:
        return _pax_header(name_bytes, link_bytes) + _header(
            TarEntry(
                name[:99], entry.kind, size, entry.mode, entry.linkname[:99], entry.uid, entry.gid, entry.data
            ),
            size,
            compact=False,
        )
    prefix, short_name = split
    if compact and not prefix:
        return _compact_header(short_name, entry, size, link_bytes)
    fields = {
        NAME: short_name,
        MODE: _octal(entry.mode, MODE),
        UID: _octal(entry.uid, UID),
        GID: _octal(entry.gid, GID),
        SIZE: _octal(size, SIZE),
        MTIME: _octal(0, MTIME),  # mtime 0: deterministic
        TYPEFLAG: TYPEFLAG_OF_KIND[entry.kind],
        LINKNAME: link_bytes,
        MAGIC: MAGIC_USTAR,
        VERSION: VERSION_USTAR,
        DEVMAJOR: _octal(0, DEVMAJOR),
        DEVMINOR: _octal(0, DEVMINOR),
        PREFIX: prefix,
    }
    return _with_checksum(fields, compact=False)


def _compact_header(name: bytes, entry: TarEntry, size: int, link: bytes) -> bytes:
    fields = {
        NAME: name,
        # Octal fields without leading zeros or terminator; zero values left all-NUL: Go's
        # parseOctal trims NULs and spaces and reads an empty field as 0 (tar/strconv.go).
        MODE: _short_octal(entry.mode),
        UID: _short_octal(entry.uid),
        GID: _short_octal(entry.gid),
        SIZE: _short_octal(size),
        # A regular file keeps the v7 typeflag NUL; Go maps TypeRegA to a regular file.
        TYPEFLAG: b"" if entry.kind == FILE else TYPEFLAG_OF_KIND[entry.kind],
        LINKNAME: link,
        # No "ustar" magic: Go reads a header with a valid checksum and no magic as v7 format.
    }
    return _with_checksum(fields, compact=True)


def _with_checksum(fields: dict[Field, bytes], *, compact: bool) -> bytes:
    block = bytearray(BLOCK)
    for field, value in fields.items():
        field.put(block, value)
    CHECKSUM.put(block, b" " * CHECKSUM.size)  # the checksum is summed with its own field as spaces
    checksum = sum(block)
    if compact:
        # Minimal digits, NUL-terminated: Go accepts any octal the trimmed field parses to.
        CHECKSUM.put(block, _short_octal(checksum).ljust(CHECKSUM.size, b"\0"))
    else:
        CHECKSUM.put(block, b"%06o\0 " % checksum)
    return bytes(block)


def _split_ustar_name(name: bytes) -> tuple[bytes, bytes] | None:
    """(prefix, name) fitting ustar's 155 + 100 bytes, or None when a PAX path is needed."""
    if len(name) <= 100:
        return b"", name
    for cut in range(len(name) - 1, 0, -1):
        if name[cut : cut + 1] == b"/" and cut <= 155 and len(name) - cut - 1 <= 100:
            return name[:cut], name[cut + 1 :]
    return None


def _pax_header(name: bytes, link: bytes) -> bytes:
    records = b""
    for key, value in ((b"path", name), (b"linkpath", link if len(link) > 100 else b"")):
        if value:
            records += _pax_record(key, value)
    header = {
        NAME: b"PaxHeader",
        MODE: _octal(0o644, MODE),
        UID: _octal(0, UID),
        GID: _octal(0, GID),
        SIZE: _octal(len(records), SIZE),
        MTIME: _octal(0, MTIME),
        TYPEFLAG: Typeflag.PAX.value,
        MAGIC: MAGIC_USTAR,
        VERSION: VERSION_USTAR,
    }
    return _with_checksum(header, compact=False) + records + bytes(-len(records) % BLOCK)


def _pax_record(key: bytes, value: bytes) -> bytes:
    body = b" " + key + b"=" + value + b"\n"
    length = len(body) + 1
    while len(str(length).encode()) + len(body) != length:
        length += 1
    return str(length).encode() + body


def _octal(value: int, field: Field) -> bytes:
    """Zero-padded octal digits and a NUL: the ustar spelling every reader agrees on."""
    digits = b"%o" % value
    if len(digits) > field.size - 1:
        raise BadInputError(f"value {value} does not fit the {field.size}-byte tar field {field.name}")
    return digits.rjust(field.size - 1, b"0") + b"\0"


def _short_octal(value: int) -> bytes:
    return b"" if value == 0 else b"%o" % value
