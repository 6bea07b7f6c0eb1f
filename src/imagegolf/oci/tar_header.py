"""The 512-byte tar header block, declared once: the writer fills these fields, the reader reads them.

Offsets and sizes follow POSIX ustar (pax spec, "ustar Interchange Format") and Go's
``archive/tar/format.go`` (headerV7, headerUSTAR, headerGNU, headerSTAR), which is what
dockerd, containerd and podman read layers with. The same bytes 345..500 mean different things
in each format: the ustar name prefix (155 bytes), the star prefix (131 bytes) followed by
atime and ctime, or GNU's atime, ctime and sparse map.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)


@dataclass(frozen=True)
class Field:
    """A byte range of the header block."""

    name: str
    offset: int
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.size

    def read(self, block: bytes) -> bytes:
        return block[self.offset : self.end]

    def put(self, block: bytearray, value: bytes) -> None:
        """Write ``value`` at the field's start; the rest of the field keeps its bytes (NUL)."""
        if len(value) > self.size:
            raise ValueError(f"{len(value)} bytes do not fit the {self.size}-byte tar field {self.name}")
        block[self.offset : self.offset + len(value)] = value


# v7: the fields every format shares (format.go headerV7).
NAME = Field("name", 0, 100)
MODE = Field("mode", 100, 8)
UID = Field("uid", 108, 8)
GID = Field("gid", 116, 8)
SIZE = Field("size", 124, 12)
MTIME = Field("mtime", 136, 12)
CHECKSUM = Field("checksum", 148, 8)
TYPEFLAG = Field("typeflag", 156, 1)
LINKNAME = Field("linkname", 157, 100)
# ustar, GNU and star share these (format.go headerUSTAR / headerGNU).
MAGIC = Field("magic", 257, 6)
VERSION = Field("version", 263, 2)
UNAME = Field("uname", 265, 32)
GNAME = Field("gname", 297, 32)
DEVMAJOR = Field("devmajor", 329, 8)
DEVMINOR = Field("devminor", 337, 8)
# ustar only: the name prefix joined to NAME with a "/".
PREFIX = Field("prefix", 345, 155)
# star (format.go headerSTAR): a shorter prefix, then times; identified by its trailer.
STAR_PREFIX = Field("star prefix", 345, 131)
STAR_ATIME = Field("star atime", 476, 12)
STAR_CTIME = Field("star ctime", 488, 12)
STAR_TRAILER = Field("star trailer", 508, 4)
# GNU (format.go headerGNU): no prefix; atime and ctime where ustar keeps its prefix.
GNU_ATIME = Field("GNU atime", 345, 12)
GNU_CTIME = Field("GNU ctime", 357, 12)

NUMERIC_FIELDS = (MODE, UID, GID, SIZE, MTIME)
DEVICE_FIELDS = (DEVMAJOR, DEVMINOR)

MAGIC_USTAR, VERSION_USTAR = b"ustar\0", b"00"
MAGIC_GNU, VERSION_GNU = b"ustar ", b" \0"
TRAILER_STAR = b"tar\0"


class HeaderFormat(enum.Enum):
    """How Go's block.getFormat classifies a header (format.go), in the order it tests them."""

    STAR = "star"  # ustar magic and the star trailer
    USTAR = "ustar"  # ustar magic (the version is not checked): also how PAX archives look
    GNU = "GNU"  # GNU magic and GNU version
    V7 = "v7"  # anything else with a valid checksum


def header_format(block: bytes) -> HeaderFormat:
    magic, version = MAGIC.read(block), VERSION.read(block)
    if magic == MAGIC_USTAR and STAR_TRAILER.read(block) == TRAILER_STAR:
        return HeaderFormat.STAR
    if magic == MAGIC_USTAR:
        return HeaderFormat.USTAR
    if magic == MAGIC_GNU and version == VERSION_GNU:
        return HeaderFormat.GNU
    return HeaderFormat.V7


def checksums(block: bytes) -> tuple[int, int]:
    """(unsigned, signed) sums of the block with the checksum field read as 8 spaces.

    POSIX wants the unsigned sum; Go (format.go computeChecksum) and GNU tar also accept the
    signed one that some old tars wrote.
    """
    rest = block[: CHECKSUM.offset] + block[CHECKSUM.end :]
    unsigned = sum(rest) + 8 * ord(" ")
    signed = sum(b - 256 if b > 127 else b for b in rest) + 8 * ord(" ")
    return unsigned, signed


class Typeflag(bytes, enum.Enum):
    """Typeflags of the pax spec plus the GNU and PAX meta entries (Go common.go Type*)."""

    REGULAR = b"0"
    REGULAR_V7 = b"\0"  # Go TypeRegA: a file, or a directory when the name ends in "/"
    HARDLINK = b"1"
    SYMLINK = b"2"
    CHAR_DEVICE = b"3"
    BLOCK_DEVICE = b"4"
    DIRECTORY = b"5"
    FIFO = b"6"
    CONTIGUOUS = b"7"
    PAX = b"x"  # extended header for the next entry
    PAX_GLOBAL = b"g"
    GNU_LONG_NAME = b"L"
    GNU_LONG_LINK = b"K"
    GNU_SPARSE = b"S"


# Go's isHeaderOnlyType (common.go): no data follows these whatever their size field says.
HEADER_ONLY = frozenset(
    {
        Typeflag.HARDLINK.value,
        Typeflag.SYMLINK.value,
        Typeflag.CHAR_DEVICE.value,
        Typeflag.BLOCK_DEVICE.value,
        Typeflag.DIRECTORY.value,
        Typeflag.FIFO.value,
    }
)

# st_mode file-type bits some writers put in the mode field (Go common.go c_IS*).
MODE_TYPE_BITS = 0o170000
C_ISDIR, C_ISFIFO, C_ISREG, C_ISLNK, C_ISBLK, C_ISCHR = 0o40000, 0o10000, 0o100000, 0o120000, 0o60000, 0o20000
