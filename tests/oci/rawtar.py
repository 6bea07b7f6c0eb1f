"""Hand-built tar blocks for the reader's tests: any field, any spelling, any order of headers."""

from __future__ import annotations

from imagegolf.oci import tar_header as h

# Header formats by their magic, version and trailer (format.go getFormat).
USTAR = {h.MAGIC: h.MAGIC_USTAR, h.VERSION: h.VERSION_USTAR}
GNU = {h.MAGIC: h.MAGIC_GNU, h.VERSION: h.VERSION_GNU}
STAR = {**USTAR, h.STAR_TRAILER: h.TRAILER_STAR}
V7: dict[h.Field, bytes] = {}


def octal(value: int, field: h.Field) -> bytes:
    return b"%0*o\0" % (field.size - 1, value)


def header(
    name: bytes | str,
    typeflag: bytes = b"0",
    size: int = 0,
    *,
    mode: int = 0o644,
    linkname: bytes | str = b"",
    form: dict[h.Field, bytes] | None = None,
    fields: dict[h.Field, bytes] | None = None,
    signed: bool = False,
) -> bytes:
    """One header block; ``fields`` overrides any field's raw bytes (the checksum is computed last)."""
    block = bytearray(h.BLOCK)
    values = {
        h.NAME: name.encode() if isinstance(name, str) else name,
        h.MODE: octal(mode, h.MODE),
        h.UID: octal(0, h.UID),
        h.GID: octal(0, h.GID),
        h.SIZE: octal(size, h.SIZE),
        h.MTIME: octal(0, h.MTIME),
        h.TYPEFLAG: typeflag,
        h.LINKNAME: linkname.encode() if isinstance(linkname, str) else linkname,
        **(USTAR if form is None else form),
        **(fields or {}),
    }
    for field, value in values.items():
        block[field.offset : field.end] = bytes(field.size)
        field.put(block, value)
    if h.CHECKSUM not in (fields or {}):
        unsigned, signed_sum = h.checksums(bytes(block))
        h.CHECKSUM.put(block, b"%06o\0 " % (signed_sum if signed else unsigned))
    return bytes(block)


def member(name: bytes | str, data: bytes = b"", typeflag: bytes = b"0", **kwargs: object) -> bytes:
    """A header with its data and padding."""
    size = kwargs.pop("size", len(data))
    assert isinstance(size, int)
    return header(name, typeflag, size, **kwargs) + data + bytes(-len(data) % h.BLOCK)  # type: ignore[arg-type]


def pax_record(key: str, value: bytes | str) -> bytes:
    body = b" " + key.encode() + b"=" + (value.encode() if isinstance(value, str) else value) + b"\n"
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length += 1
    return str(length).encode() + body


def pax(records: dict[str, bytes | str] | bytes, typeflag: bytes = b"x") -> bytes:
    """A PAX extended ('x') or global ('g') header with its records."""
    if isinstance(records, dict):
        records = b"".join(pax_record(key, value) for key, value in records.items())
    payload = records
    return member("PaxHeader", payload, typeflag)


def gnu_long(text: bytes | str, typeflag: bytes = b"L") -> bytes:
    """A GNU long-name ('L') or long-link ('K') record."""
    payload = (text.encode() if isinstance(text, str) else text) + b"\0"
    return member("././@LongLink", payload, typeflag, form=GNU)


END = bytes(2 * h.BLOCK)
