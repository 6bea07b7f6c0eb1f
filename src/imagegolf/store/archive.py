"""Read an image archive (tar, optionally gzip-compressed) into memory, never onto disk."""

from __future__ import annotations

import posixpath
from dataclasses import replace
from pathlib import Path

from imagegolf.errors import BadInputError
from imagegolf.oci.gzip import gunzip, is_gzip
from imagegolf.oci.limits import DEFAULT_CAPS, Caps, check_cap
from imagegolf.oci.tar_entry import DIRECTORY, FILE, HARDLINK, SYMLINK, TarEntry
from imagegolf.oci.tar_read import read_tar

_MAX_LINK_HOPS = 8


def read_archive_bytes(path: Path, caps: Caps = DEFAULT_CAPS) -> bytes:
    """The archive's tar bytes (gunzipped when compressed), size-capped before reading."""
    try:
        size = path.stat().st_size
        check_cap(size, caps.archive_bytes, f"the size of {path}")
        data = path.read_bytes()
    except OSError as error:
        raise BadInputError(f"cannot read {path}: {error.strerror}") from None
    if is_gzip(data):  # `docker save | gzip` archives load too
        wide = replace(caps, decompressed_bytes=caps.archive_bytes, compressed_bytes=size)
        data = gunzip(data, caps=wide)
    return data


class ArchiveMembers:
    """The regular files of an archive by normalized path; links are followed inside the archive."""

    def __init__(self, tar: bytes, caps: Caps = DEFAULT_CAPS) -> None:
        self.entries: dict[str, TarEntry] = {}
        archive_caps = replace(caps, decompressed_bytes=caps.archive_bytes)
        for entry in read_tar(tar, caps=archive_caps, keep_data=True):
            path = self._clean(entry.path.lstrip("/")) if entry.path.strip("/.") else "."
            earlier = self.entries.get(path)
            if earlier is not None and DIRECTORY not in (earlier.kind, entry.kind):
                # Loaders differ on which copy wins (the first, the last): refuse rather than guess.
                raise BadInputError(f"the archive holds {entry.path!r} twice")
            self.entries[path] = entry

    def names(self) -> set[str]:
        return {path for path, entry in self.entries.items() if entry.kind != DIRECTORY}

    def has(self, name: str) -> bool:
        return self._clean(name) in self.entries

    def read(self, name: str) -> bytes:
        """The content of member ``name``, refusing names or links that leave the archive."""
        path = self._clean(name)
        for _ in range(_MAX_LINK_HOPS):
            entry = self.entries.get(path)
            if entry is None:
                raise BadInputError(f"the archive has no member {name!r}")
            if entry.kind == FILE and entry.data is not None:
                return entry.data
            if entry.kind == HARDLINK:
                path = self._clean(entry.linkname)
            elif entry.kind == SYMLINK:
                path = self._clean(posixpath.join(posixpath.dirname(path), entry.linkname))
            else:
                raise BadInputError(f"archive member {name!r} is a {entry.kind}, not a file")
        raise BadInputError(f"archive member {name!r} is a chain of more than {_MAX_LINK_HOPS} links")

    @staticmethod
    def _clean(name: str) -> str:
        if name.startswith("/"):
            raise BadInputError(f"archive path {name!r} is absolute")
        normalized = posixpath.normpath(name)
        if normalized == ".." or normalized.startswith("../"):
            raise BadInputError(f"archive path {name!r} escapes the archive")
        return normalized
