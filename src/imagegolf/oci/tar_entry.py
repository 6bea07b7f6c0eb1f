"""One tar entry as a value: what the writer takes and the reader yields."""

from __future__ import annotations

from dataclasses import dataclass

FILE = "file"
DIRECTORY = "dir"
SYMLINK = "symlink"
HARDLINK = "hardlink"
CHAR_DEVICE = "char"
BLOCK_DEVICE = "block"
FIFO = "fifo"

# POSIX ustar typeflags (pax spec, "ustar Interchange Format"); NUL is the v7 spelling of a file.
TYPEFLAG_OF_KIND = {
    FILE: b"0",
    HARDLINK: b"1",
    SYMLINK: b"2",
    CHAR_DEVICE: b"3",
    BLOCK_DEVICE: b"4",
    DIRECTORY: b"5",
    FIFO: b"6",
}
KIND_OF_TYPEFLAG = {flag: kind for kind, flag in TYPEFLAG_OF_KIND.items()}
KIND_OF_TYPEFLAG[b"\0"] = FILE
KIND_OF_TYPEFLAG[b"7"] = FILE  # contiguous file: a regular file everywhere that matters


@dataclass(frozen=True)
class TarEntry:
    """A tar member: ``data`` is the content of a file (None when a reader did not keep it)."""

    path: str
    kind: str = FILE
    size: int = 0
    mode: int = 0o644
    linkname: str = ""
    uid: int = 0
    gid: int = 0
    data: bytes | None = None

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
