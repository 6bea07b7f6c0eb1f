"""A streaming tar reader that accepts what Go's archive/tar accepts (not Python's tarfile).

It reads v7, ustar, GNU (long names, base-256 numbers) and PAX headers, and the compact shapes of
tar_write: no end blocks, no padding after the last file. It refuses sparse files, unknown entry
kinds and ``..`` in names, and enforces caps while reading (attacks.md §6, §9, §11).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from imagegolf.errors import BadInputError
from imagegolf.oci.limits import DEFAULT_CAPS, Caps, check_cap
from imagegolf.oci.tar_entry import FILE, KIND_OF_TYPEFLAG, TarEntry

BLOCK = 512
_HEADER_ONLY = {b"1", b"2", b"3", b"4", b"5", b"6"}  # Go's isHeaderOnlyType: data size read as 0
_MAX_META_BYTES = 1024 * 1024  # PAX and GNU long-name payloads (Go's maxSpecialFileSize)


class ChunkReader:
    """Reads exact byte counts from an iterable of chunks, counting what it consumed."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = bytearray()
        self._offset = 0  # consumed bytes at the buffer's start, dropped in bulk (no O(n²) copying)
        self.consumed = 0

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; fewer only at the end of the stream."""
        while len(self._buffer) - self._offset < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            if self._offset:
                del self._buffer[: self._offset]
                self._offset = 0
            self._buffer += chunk
        out = bytes(self._buffer[self._offset : self._offset + size])
        self._offset += len(out)
        self.consumed += len(out)
        return out

    def skip(self, size: int) -> int:
        """Skip up to ``size`` bytes in bounded pieces; returns how many were there."""
        skipped = 0
        while skipped < size:
            piece = self.read(min(size - skipped, 1 << 16))
            if not piece:
                break
            skipped += len(piece)
        return skipped


def read_tar(
    source: bytes | Iterable[bytes], *, caps: Caps = DEFAULT_CAPS, keep_data: bool = False
) -> Iterator[TarEntry]:
    """Yield the entries of a tar stream; with ``keep_data`` each file's content rides along."""
    stream = ChunkReader([source] if isinstance(source, bytes) else source)
    count = 0
    while True:
        entry_and_size = _next_header(stream, caps)
        if entry_and_size is None:
            return
        entry, data_size = entry_and_size
        count += 1
        check_cap(count, caps.tar_entries, "the number of tar entries")
        check_cap(stream.consumed + data_size, caps.decompressed_bytes, "the size of the tar stream")
        data = stream.read(data_size) if keep_data and entry.kind == FILE else None
        got = len(data) if data is not None else stream.skip(data_size)
        if got != data_size:
            raise BadInputError(f"tar entry {entry.path!r} is cut short: the stream ends inside its data")
        yield replace(entry, data=data) if data is not None else entry
        padding = -data_size % BLOCK
        got = stream.skip(padding)
        if got == 0 and padding:
            return  # Go's tryReadFull: a clean EOF where padding starts ends the archive
        if got != padding:
            raise BadInputError("tar stream ends inside the padding of an entry")


def _next_header(stream: ChunkReader, caps: Caps) -> tuple[TarEntry, int] | None:
    """The next real entry and its data size, after folding PAX/GNU meta entries into it."""
    overrides: dict[str, str] = {}
    while True:
        block = stream.read(BLOCK)
        if not block:
            return None
        if len(block) < BLOCK:
            raise BadInputError("tar stream ends inside a header")
        if block == bytes(BLOCK):
            following = stream.read(BLOCK)
            if following in (b"", bytes(BLOCK)):
                return None  # end of archive: one zero block then EOF, or two zero blocks
            raise BadInputError("tar stream has a zero block followed by data")
        _verify_checksum(block)
        typeflag = block[156:157]
        size = _number(block[124:136], "size")
        if typeflag in (b"x", b"g", b"L", b"K"):
            check_cap(size, _MAX_META_BYTES, "a tar meta entry")
            payload = stream.read(size)
            stream.skip(-size % BLOCK)
            if len(payload) != size:
                raise BadInputError("tar stream ends inside a meta entry")
            if typeflag == b"x":
                overrides.update(_pax_records(payload))
            elif typeflag == b"L":
                overrides["path"] = payload.rstrip(b"\0").decode("utf-8", "surrogateescape")
            elif typeflag == b"K":
                overrides["linkpath"] = payload.rstrip(b"\0").decode("utf-8", "surrogateescape")
            continue  # a global PAX header ('g') is read and ignored, like Go does for files
        return _entry(block, typeflag, size, overrides, caps)


def _entry(block: bytes, typeflag: bytes, size: int, pax: dict[str, str], caps: Caps) -> tuple[TarEntry, int]:
    kind = KIND_OF_TYPEFLAG.get(typeflag)
    if kind is None:
        what = "a sparse file" if typeflag == b"S" else f"an entry of type {typeflag!r}"
        raise BadInputError(f"tar holds {what}, which imagegolf refuses")
    name = _text(block[0:100])
    if block[257:263] == b"ustar\0" and block[345] != 0:
        name = _text(block[345:500]) + "/" + name
    name = pax.get("path", name)
    linkname = pax.get("linkpath", _text(block[157:257]))
    size = _pax_int(pax, "size", size)
    mode = _number(block[100:108], "mode") & 0o7777
    uid = _pax_int(pax, "uid", _number(block[108:116], "uid"))
    gid = _pax_int(pax, "gid", _number(block[116:124], "gid"))
    path = normalize_path(name, caps)
    if kind == "hardlink":
        linkname = normalize_path(linkname, caps)
    check_cap(len(linkname.encode("utf-8", "surrogateescape")), caps.path_length, "a tar link target length")
    data_size = 0 if typeflag in _HEADER_ONLY else size
    return TarEntry(path, kind, size, mode, linkname, uid, gid), data_size


def normalize_path(name: str, caps: Caps = DEFAULT_CAPS) -> str:
    """A member name relative to the root (``./a/``, ``/a`` → ``a``); ``..`` is refused."""
    check_cap(len(name.encode("utf-8", "surrogateescape")), caps.path_length, "a tar path length")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise BadInputError(f"tar member {name!r} escapes the root with '..'")
    if "\0" in name:
        raise BadInputError(f"tar member {name!r} contains a NUL byte")
    return "/".join(parts) or "."


def _pax_int(pax: dict[str, str], key: str, default: int) -> int:
    if key not in pax:
        return default
    if not pax[key].isdigit():
        raise BadInputError(f"PAX {key} {pax[key]!r} is not a decimal number")
    return int(pax[key])


def _verify_checksum(block: bytes) -> None:
    stored = _number(block[148:156], "checksum")
    unsigned = sum(block[:148]) + 8 * 32 + sum(block[156:])
    signed = sum(b - 256 if b > 127 else b for b in block[:148] + block[156:]) + 8 * 32
    if stored not in (unsigned, signed):
        raise BadInputError("tar header checksum does not match: this is not a tar stream or it is corrupt")


def _number(field: bytes, what: str) -> int:
    if field and field[0] & 0x80:  # GNU base-256: high bit set, big-endian two's complement
        if field[0] & 0x40:
            raise BadInputError(f"tar {what} field is negative")
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    text = field.strip(b" \0")  # Go's parseOctal trims spaces and NULs from both ends
    if b"\0" in text:
        text = text.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise BadInputError(f"tar {what} field {field!r} is not an octal number") from None


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _pax_records(payload: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    rest = payload
    while rest:
        length_text, space, _ = rest.partition(b" ")
        if not space or not length_text.isdigit() or int(length_text) > len(rest) or int(length_text) < 5:
            raise BadInputError("malformed PAX record in tar stream")
        record, rest = rest[: int(length_text)], rest[int(length_text) :]
        key, equals, value = record[len(length_text) + 1 : -1].partition(b"=")
        if not equals or record[-1:] != b"\n":
            raise BadInputError("malformed PAX record in tar stream")
        if key.startswith(b"GNU.sparse."):
            raise BadInputError("tar holds a PAX sparse file, which imagegolf refuses")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
    return {key: value for key, value in records.items() if key in ("path", "linkpath", "size", "uid", "gid")}
