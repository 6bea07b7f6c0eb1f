"""One tar entry as a value: what the writer takes, the tar reader yields and the layer reader refines."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from imagegolf.oci.tar_header import C_ISBLK, C_ISCHR, C_ISDIR, C_ISFIFO, C_ISLNK, C_ISREG, Typeflag


class EntryKind(enum.StrEnum):
    """What an entry is. The last two never appear in a tar header: the layer reader turns a
    whiteout file into them (image-spec layer.md "Whiteouts")."""

    FILE = "file"
    DIRECTORY = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    CHAR_DEVICE = "char"
    BLOCK_DEVICE = "block"
    FIFO = "fifo"
    WHITEOUT = "whiteout"  # ``.wh.NAME``: NAME of the layers below is deleted
    OPAQUE = "opaque"  # ``DIR/.wh..wh..opq``: DIR hides what the layers below hold in it


FILE = EntryKind.FILE
DIRECTORY = EntryKind.DIRECTORY
SYMLINK = EntryKind.SYMLINK
HARDLINK = EntryKind.HARDLINK
CHAR_DEVICE = EntryKind.CHAR_DEVICE
BLOCK_DEVICE = EntryKind.BLOCK_DEVICE
FIFO = EntryKind.FIFO
WHITEOUT = EntryKind.WHITEOUT
OPAQUE = EntryKind.OPAQUE

# POSIX ustar typeflags; a v7 NUL typeflag is read as FILE (or DIRECTORY, by the name).
TYPEFLAG_OF_KIND: dict[EntryKind, bytes] = {
    FILE: Typeflag.REGULAR.value,
    HARDLINK: Typeflag.HARDLINK.value,
    SYMLINK: Typeflag.SYMLINK.value,
    CHAR_DEVICE: Typeflag.CHAR_DEVICE.value,
    BLOCK_DEVICE: Typeflag.BLOCK_DEVICE.value,
    DIRECTORY: Typeflag.DIRECTORY.value,
    FIFO: Typeflag.FIFO.value,
}
KIND_OF_TYPEFLAG: dict[bytes, EntryKind] = {flag: kind for kind, flag in TYPEFLAG_OF_KIND.items()}

# The st_mode type bits a writer may put in the mode field for each kind (hard links: their file's).
MODE_TYPE_OF_KIND: dict[EntryKind, int] = {
    FILE: C_ISREG,
    HARDLINK: C_ISREG,
    SYMLINK: C_ISLNK,
    CHAR_DEVICE: C_ISCHR,
    BLOCK_DEVICE: C_ISBLK,
    DIRECTORY: C_ISDIR,
    FIFO: C_ISFIFO,
}


@dataclass(frozen=True)
class TarEntry:
    """A tar member.

    ``path`` is the name as the header (with its PAX or GNU records) gives it when the tar
    reader yields it, and the cleaned path inside the image (``bin/sh``; ``""`` is the root)
    when the layer reader does. ``mode`` holds the permission bits (07777). ``data`` is the
    content of a file (None when a reader did not keep it). ``xattrs`` are the PAX
    ``SCHILY.xattr.*`` records, which engines apply to the extracted file.
    """

    path: str
    kind: EntryKind = FILE
    size: int = 0
    mode: int = 0o644
    linkname: str = ""
    uid: int = 0
    gid: int = 0
    data: bytes | None = None
    xattrs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def file(cls, path: str, data: bytes, mode: int = 0o755) -> TarEntry:
        return cls(path, FILE, len(data), mode, data=data)

    @classmethod
    def directory(cls, path: str, mode: int = 0o755) -> TarEntry:
        return cls(path, DIRECTORY, 0, mode)

    @classmethod
    def symlink(cls, path: str, target: str) -> TarEntry:
        return cls(path, SYMLINK, 0, 0o777, target)

    @classmethod
    def hardlink(cls, path: str, target: str, mode: int = 0o755) -> TarEntry:
        return cls(path, HARDLINK, 0, mode, target)
