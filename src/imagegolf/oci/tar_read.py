"""A streaming tar reader that reads exactly what Go's ``archive/tar`` reads, or refuses.

dockerd, containerd and podman read every layer with Go's ``archive/tar`` (go1.19 here:
``src/archive/tar/reader.go``, ``strconv.go``, ``format.go``). This reader follows it rule for rule
(docs/judge.md, cites each) and refuses, with a reason that names the construct
and the entry, every archive that another reader could read differently: several PAX headers
before one entry, a global header dropping a pending one, GNU long names mixed with PAX paths,
star prefixes, bytes where only some readers look for a prefix, odd numeric encodings, sizes that
only some readers honour, entry kinds no engine extracts. What it yields is, entry for entry,
what Go yields (tests/oci/test_tar_differential.py checks that against Go itself).

Names are yielded as Go reports them (``./a/``, ``/b``); cleaning them is the layer reader's job.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from imagegolf.errors import BadInputError
from imagegolf.oci.limits import DEFAULT_CAPS, Budget, Caps, check_cap
from imagegolf.oci.tar_entry import DIRECTORY, FILE, KIND_OF_TYPEFLAG, MODE_TYPE_OF_KIND, EntryKind, TarEntry
from imagegolf.oci.tar_header import (
    BLOCK,
    CHECKSUM,
    DEVICE_FIELDS,
    GID,
    GNU_ATIME,
    GNU_CTIME,
    HEADER_ONLY,
    LINKNAME,
    MAGIC,
    MODE,
    MODE_TYPE_BITS,
    MTIME,
    NAME,
    PREFIX,
    SIZE,
    STAR_ATIME,
    STAR_CTIME,
    STAR_PREFIX,
    TYPEFLAG,
    UID,
    ZERO_BLOCK,
    Field,
    HeaderFormat,
    Typeflag,
    checksums,
    header_format,
)

MAX_META_BYTES = 1 << 20  # Go's maxSpecialFileSize: PAX and GNU long-name payloads
_META = frozenset({Typeflag.PAX.value, Typeflag.PAX_GLOBAL.value, Typeflag.GNU_LONG_NAME.value,
                   Typeflag.GNU_LONG_LINK.value})  # fmt: skip
# An octal field as every reader agrees on it: leading spaces, digits, then only NULs or spaces.
_PLAIN_OCTAL = re.compile(rb" *[0-7]*[ \0]*")
_DECIMAL = re.compile(r"[0-9]+")  # ASCII digits only: Go's strconv refuses other scripts' digits
_PAX_TIME = re.compile(r"([+-]?[0-9]+)(?:\.[0-9]*)?")
# PAX keys that change the entry, and the only keys a global header may hold (it applies to
# every later entry for POSIX readers, to none for Go).
_PAX_TIMES = frozenset({"atime", "mtime", "ctime"})
_PAX_MEANINGFUL = frozenset({"path", "linkpath", "size", "uid", "gid", *_PAX_TIMES})
_GLOBAL_HARMLESS = frozenset({"comment", "charset", "hdrcharset", *_PAX_TIMES})
XATTR_PREFIX = "SCHILY.xattr."
_ODD_TYPES = {
    Typeflag.GNU_SPARSE.value: "a GNU sparse file",
    Typeflag.CONTIGUOUS.value: "a contiguous file (type '7')",
    b"D": "a GNU dump directory (type 'D')",
    b"V": "a GNU volume label (type 'V')",
    b"M": "a GNU multi-volume continuation (type 'M')",
    b"N": "an old GNU long-name entry (type 'N')",
}


class TarRefused(BadInputError):
    """A tar stream that is broken, or that another reader could read as something else."""


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


@dataclass(frozen=True)
class _Header:
    """One header block as Go's readHeader parses it."""

    offset: int
    typeflag: bytes
    name: str
    linkname: str
    size: int
    mode: int
    uid: int
    gid: int


@dataclass
class _Pending:
    """Meta headers read since the last entry, and the first ambiguity among them."""

    pax: dict[str, str] | None = None
    long_name: str | None = None
    long_link: str | None = None
    offsets: list[int] = field(default_factory=list)
    problem: str | None = None

    def __bool__(self) -> bool:
        return bool(self.offsets)

    def flag(self, problem: str) -> None:
        self.problem = self.problem or problem


def read_tar(
    source: bytes | Iterable[bytes],
    *,
    caps: Caps = DEFAULT_CAPS,
    keep_data: bool = False,
    budget: Budget | None = None,
) -> Iterator[TarEntry]:
    """Yield the entries of a tar stream as Go reads them; ``keep_data`` keeps file contents.

    Raises :class:`TarRefused` for a stream Go would fail on or that could be read two ways,
    and ``LimitExceededError`` past a cap.
    """
    stream = ChunkReader([source] if isinstance(source, bytes) else source)
    number = 0
    pending = _Pending()
    names = _GlobalNames()
    while True:
        offset = stream.consumed
        block = _header_block(stream, number + 1)
        if block is None:
            if pending:
                raise TarRefused(
                    f"the archive ends after {_meta_where(pending)}, with no entry for it to describe"
                    + (f" ({pending.problem})" if pending.problem else "")
                )
            return
        header = _parse_header(block, offset, number + 1)
        if header.typeflag in _META:
            _read_meta(stream, header, pending, number + 1)
            if header.typeflag == Typeflag.PAX_GLOBAL.value:
                names.add_global(header, number + 1)
            continue
        number += 1
        check_cap(number, caps.tar_entries, "the number of tar entries")
        if budget is not None:
            budget.charge_entry()
        entry, data_size = _entry(header, pending, number, caps)
        names.add_entry(entry.path, number)
        pending = _Pending()
        check_cap(
            stream.consumed + data_size,
            caps.decompressed_bytes,
            f"the decompressed size of the layer, as entry {number} declares it,",
        )
        keep = keep_data and entry.kind == FILE
        data = stream.read(data_size) if keep else None
        got = len(data) if data is not None else stream.skip(data_size)
        if got != data_size:
            raise TarRefused(f"{_where(number, entry.path)} is cut short: the stream ends inside its data")
        yield TarEntry(entry.path, entry.kind, entry.size, entry.mode, entry.linkname, entry.uid,
                       entry.gid, data, entry.xattrs)  # fmt: skip
        if stream.skip(-data_size % BLOCK) != -data_size % BLOCK:
            # Go's tryReadFull: EOF inside (or at) the padding ends the archive (reader.go next).
            return


class _GlobalNames:
    """PAX global headers by name: podman and containerd act on a global header's name (they
    create its parent directories and delete what has that name), dockerd skips it. So a global
    header may only have a plain name no entry shares (containers/storage pkg/archive Unpack)."""

    def __init__(self) -> None:
        self.entries: set[str] = set()
        self.globals: dict[str, int] = {}

    def add_global(self, header: _Header, number: int) -> None:
        name = _clean(header.name)
        where = f"the PAX global header at byte {header.offset} (named {header.name!r})"
        if "/" in name or name in (".", ".."):
            raise TarRefused(f"{where}: podman creates directories for its name, dockerd does not")
        if name in self.entries or name in self.globals:
            raise TarRefused(f"{where} shares its name with another entry, before entry {number}")
        self.globals[name] = header.offset

    def add_entry(self, path: str, number: int) -> None:
        name = _clean(path)
        if name in self.globals:
            raise TarRefused(
                f"{_where(number, path)} has the name of the PAX global header at byte {self.globals[name]}: "
                "podman deletes the path the global header names, dockerd does not"
            )
        self.entries.add(name)


def _clean(name: str) -> str:
    return posixpath.normpath(name.lstrip("/")) if name.strip("/") else "."


def _header_block(stream: ChunkReader, number: int) -> bytes | None:
    """The next header block, or None at the end of the archive (reader.go readHeader)."""
    block = stream.read(BLOCK)
    if not block:
        return None  # EOF where a header would start: Go's io.EOF, a clean end
    if len(block) < BLOCK:
        raise TarRefused(f"the stream ends inside the header of entry {number}")
    if block != ZERO_BLOCK:
        return block
    following = stream.read(BLOCK)
    if following in (b"", ZERO_BLOCK):
        return None  # one zero block then EOF, or two zero blocks
    if len(following) < BLOCK:
        raise TarRefused("the stream ends inside the block after a zero block")
    raise TarRefused("a zero block is followed by data: Go stops there, other readers read on")


def _parse_header(block: bytes, offset: int, number: int) -> _Header:
    where = f"the header at byte {offset} (entry {number}, named {_cstring(NAME.read(block))[:100]!r})"
    stored = _number(block, CHECKSUM, where, base256=False)
    if stored not in checksums(block):
        raise TarRefused(f"{where} has a wrong checksum: this is not a tar stream, or it is corrupt")
    form = header_format(block)
    typeflag = TYPEFLAG.read(block)
    name, linkname = _cstring(NAME.read(block)), _cstring(LINKNAME.read(block))
    size = _number(block, SIZE, where, base256=False)
    mode = _number(block, MODE, where, base256=False)
    uid = _number(block, UID, where, base256=True)
    gid = _number(block, GID, where, base256=True)
    _number(block, MTIME, where, base256=True, negative=True)  # Go fails on a bad mtime too
    if form is not HeaderFormat.V7:
        for device in DEVICE_FIELDS:
            _number(block, device, where, base256=False)
    prefix = _prefix(block, form, where)
    if prefix:
        name = f"{prefix}/{name}"
    return _Header(offset, typeflag, name, linkname, size, mode, uid, gid)


def _prefix(block: bytes, form: HeaderFormat, where: str) -> str:
    """The name prefix Go reads for this format, refusing the layouts readers disagree on."""
    if form is HeaderFormat.USTAR:
        return _cstring(PREFIX.read(block))
    if form is HeaderFormat.STAR:
        if STAR_PREFIX.read(block)[0]:
            raise TarRefused(
                f"{where} is a star header with a name prefix: Go reads a 131-byte prefix, "
                "other readers the 155-byte ustar one"
            )
        for times in (STAR_ATIME, STAR_CTIME):
            _number(block, times, where, base256=True, negative=True)
        return ""
    if form is HeaderFormat.GNU and block[GNU_ATIME.offset : GNU_CTIME.end] != bytes(24):
        raise TarRefused(
            f"{where} is a GNU header with atime/ctime set: Go reads them as times, or as a name "
            "prefix when they are not numbers; other readers always read a prefix there"
        )
    if form is HeaderFormat.V7 and block[MAGIC.offset : PREFIX.end].strip(b"\0"):
        raise TarRefused(
            f"{where} has no ustar or GNU magic but bytes past the v7 fields: Go ignores them, "
            "other readers take a name prefix from them"
        )
    return ""


def _read_meta(stream: ChunkReader, header: _Header, pending: _Pending, number: int) -> None:
    """Read a PAX ('x', 'g') or GNU long-name ('L', 'K') header into ``pending``."""
    where = f"the {_meta_name(header.typeflag)} at byte {header.offset}"
    if header.size > MAX_META_BYTES:
        raise TarRefused(f"{where} is {header.size} bytes, more than Go's limit of {MAX_META_BYTES}")
    payload = stream.read(header.size)
    if len(payload) != header.size:
        raise TarRefused(f"the stream ends inside {where}")
    stream.skip(-header.size % BLOCK)  # a short padding surfaces as the end of the archive next
    flag = header.typeflag
    if flag == Typeflag.PAX_GLOBAL.value:
        records = _pax_records(payload, where)
        if pending:
            pending.flag(f"{where} drops {_meta_where(pending)} before it (Go forgets it, others keep it)")
        meaningful = sorted(set(records) - _GLOBAL_HARMLESS)
        if meaningful:
            pending.flag(
                f"{where} sets {', '.join(meaningful)}: "
                "POSIX readers apply it to every later entry, Go to none"
            )
        if pending.problem:
            raise TarRefused(f"{pending.problem}, before entry {number}")
        return
    pending.offsets.append(header.offset)
    if flag == Typeflag.PAX.value:
        records = _pax_records(payload, where)
        if pending.pax is not None:
            pending.flag("two PAX extended headers (Go applies only the last, other readers merge them)")
        pending.pax = records
    else:
        text = _cstring(payload)
        if not text:
            pending.flag(f"{where} is empty (Go ignores it, other readers use an empty name)")
        if flag == Typeflag.GNU_LONG_NAME.value:
            if pending.long_name is not None:
                pending.flag("two GNU long-name records (readers keep different ones)")
            pending.long_name = text
        else:
            if pending.long_link is not None:
                pending.flag("two GNU long-link records (readers keep different ones)")
            pending.long_link = text
    pax = pending.pax or {}
    name_twice = "path" in pax and pending.long_name is not None
    if name_twice or ("linkpath" in pax and pending.long_link is not None):
        pending.flag("a GNU long name mixed with a PAX path (Go prefers the GNU one, others the PAX one)")


def _entry(header: _Header, pending: _Pending, number: int, caps: Caps) -> tuple[TarEntry, int]:
    """The entry Go's next() returns for ``header`` after its meta headers; and its data size."""
    pax = pending.pax or {}
    name = pax.get("path", header.name)
    linkname = pax.get("linkpath", header.linkname)
    if pending.long_name:
        name = pending.long_name
    if pending.long_link:
        linkname = pending.long_link
    where = _where(number, name)
    if pending.problem:
        raise TarRefused(f"{pending.problem} before {where}")
    size, uid, gid = header.size, int(pax.get("uid", header.uid)), int(pax.get("gid", header.gid))
    if "size" in pax and int(pax["size"]) != header.size:
        raise TarRefused(
            f"{where} has a PAX size of {pax['size']} where its header says {header.size}: "
            "readers that ignore the PAX record read different data"
        )
    kind = _kind(header.typeflag, name, where)
    if header.typeflag in HEADER_ONLY and size:
        raise TarRefused(
            f"{where} is a {kind} that declares {size} bytes of data: Go reads none, other readers skip them"
        )
    if kind == DIRECTORY and header.typeflag == Typeflag.REGULAR_V7.value and size:
        raise TarRefused(
            f"{where} is an old-style (v7) entry whose name ends in '/' but carries {size} bytes of data: "
            "Go reads a directory and no data, other readers a file"
        )
    type_bits = header.mode & ~0o7777
    if type_bits and (type_bits & ~MODE_TYPE_BITS or type_bits != MODE_TYPE_OF_KIND[kind]):
        raise TarRefused(f"{where} is a {kind} whose mode {header.mode:o} says it is something else")
    if not name:
        raise TarRefused(f"entry {number} has an empty name")
    for text, what in ((name, "path"), (linkname, "link target")):
        check_cap(len(text.encode("utf-8", "surrogateescape")), caps.path_length, f"a tar {what} length")
    xattrs = tuple(sorted((k[len(XATTR_PREFIX) :], v) for k, v in pax.items() if k.startswith(XATTR_PREFIX)))
    entry = TarEntry(name, kind, size, header.mode & 0o7777, linkname, uid, gid, None, xattrs)
    return entry, 0 if header.typeflag in HEADER_ONLY else size


def _kind(typeflag: bytes, name: str, where: str) -> EntryKind:
    if typeflag == Typeflag.REGULAR_V7.value:
        # Go: "Legacy archives use trailing slash for directories" (reader.go next).
        return DIRECTORY if name.endswith("/") else FILE
    kind = KIND_OF_TYPEFLAG.get(typeflag)
    if kind is None:
        what = _ODD_TYPES.get(typeflag, f"an entry of type {typeflag!r}")
        raise TarRefused(f"{where} is {what}, which the engines do not extract: refused")
    return kind


def _pax_records(payload: bytes, where: str) -> dict[str, str]:
    """Go's parsePAX and parsePAXRecord, refusing what other readers could read otherwise."""
    records: dict[str, str] = {}
    rest = payload
    while rest:
        length_text, space, _ = rest.partition(b" ")
        if not space or not length_text.isdigit():
            raise TarRefused(f"{where} has a malformed record length {length_text[:20]!r}")
        length = int(length_text)
        if length < 5 or length > len(rest) or length <= len(length_text) + 1:
            raise TarRefused(f"{where} has a record length {length} that does not fit")
        record, rest = rest[:length], rest[length:]
        key_bytes, equals, value_bytes = record[len(length_text) + 1 : -1].partition(b"=")
        if record[-1:] != b"\n" or not equals or not key_bytes:
            raise TarRefused(f"{where} has a malformed record {record[:40]!r}")
        key, value = _text(key_bytes), _text(value_bytes)
        if "\0" in key or ("\0" in value and key in ("path", "linkpath", "uname", "gname")):
            raise TarRefused(f"{where} has a NUL byte in its {key!r} record")
        if key in records:
            raise TarRefused(f"{where} sets {key!r} twice (readers keep different ones)")
        records[key] = value
    for key, value in records.items():
        _check_pax_value(key, value, where)
    return records


def _check_pax_value(key: str, value: str, where: str) -> None:
    if key.startswith("GNU.sparse."):
        raise TarRefused(f"{where} describes a PAX sparse file ({key}), which imagegolf refuses")
    if not value and (key in _PAX_MEANINGFUL or key.startswith(XATTR_PREFIX)):
        raise TarRefused(f"{where} has an empty {key!r} record (Go ignores it, other readers apply it)")
    if key in ("size", "uid", "gid") and not _DECIMAL.fullmatch(value):
        raise TarRefused(f"{where} has {key}={value[:30]!r}, not a plain decimal number")
    if key in ("size", "uid", "gid") and int(value) >= 1 << 63:
        raise TarRefused(f"{where} has {key}={value[:30]!r}, too large for Go (strconv.ParseInt)")
    if key in _PAX_TIMES and not _valid_pax_time(value):
        raise TarRefused(f"{where} has {key}={value[:30]!r}, which Go cannot read as a time")


def _valid_pax_time(value: str) -> bool:
    """Go's parsePAXTime (strconv.go): signed decimal seconds, optional decimal fraction."""
    found = _PAX_TIME.fullmatch(value)
    return found is not None and abs(int(found.group(1))) < 1 << 63


def _number(block: bytes, where_field: Field, where: str, *, base256: bool, negative: bool = False) -> int:
    """A numeric field as Go's parseNumeric reads it, refusing encodings readers disagree on."""
    raw = where_field.read(block)
    if raw[0] & 0x80:  # GNU base-256: big-endian two's complement after the marker bit
        if not base256:
            raise TarRefused(f"{where} has its {where_field.name} in base-256, which imagegolf refuses")
        value = int.from_bytes(bytes([raw[0] & 0x7F]) + raw[1:], "big", signed=False)
        if raw[0] & 0x40:
            value -= 1 << (8 * len(raw) - 1)
        if not -(1 << 63) <= value < 1 << 63 or (value < 0 and not negative):
            raise TarRefused(f"{where} has a {where_field.name} of {value}, out of range")
        return value
    if not _PLAIN_OCTAL.fullmatch(raw):
        raise TarRefused(
            f"{where} has its {where_field.name} field spelled {raw!r}: not plain octal digits "
            "(Go and other readers read such fields differently)"
        )
    digits = raw.strip(b" \0")
    value = int(digits, 8) if digits else 0
    if value >= 1 << 64:
        raise TarRefused(f"{where} has a {where_field.name} too large for Go to read")
    return value


def _cstring(field_bytes: bytes) -> str:
    """Go's parseString: the bytes up to the first NUL."""
    return _text(field_bytes.split(b"\0", 1)[0])


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _where(number: int, name: str) -> str:
    return f"entry {number} (`{name}`)"


def _meta_name(typeflag: bytes) -> str:
    return {
        Typeflag.PAX.value: "PAX extended header",
        Typeflag.PAX_GLOBAL.value: "PAX global header",
        Typeflag.GNU_LONG_NAME.value: "GNU long-name record",
        Typeflag.GNU_LONG_LINK.value: "GNU long-link record",
    }[typeflag]


def _meta_where(pending: _Pending) -> str:
    offsets = ", ".join(str(o) for o in pending.offsets)
    return f"the meta header{'s' if len(pending.offsets) > 1 else ''} at byte {offsets}"
