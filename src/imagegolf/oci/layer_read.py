"""Reading a layer as the engines unpack it: the one reader of layers in imagegolf.

The judge, the five metrics, ``inspect``, ``explain`` and the ladder all read layers here. On top
of the tar reader (Go's ``archive/tar``, oci/tar_read.py) this applies what dockerd (moby
``pkg/archive`` Unpack with the overlay whiteout converter), podman (containers/storage
``pkg/archive``) and tar-split (``storage.NewJSONPacker``, which both use while applying a layer)
do with the entries, and refuses every layer they would refuse or could unpack in more than one
way (docs/judge.md, with the source of each rule):

- names are cleaned like Go's ``filepath.Clean`` and read relative to the layer root; a name with
  a ``..`` component is refused;
- two entries that clean to the same path (``p``, ``./p``, ``/p``, ``p/``) are refused: tar-split
  refuses some spellings, moby keeps the last of the others;
- nothing may sit under a non-directory of the same layer, and no non-directory may replace a
  directory that holds earlier entries (moby removes what was in it);
- a hard link must name a file earlier in the same layer; a symlink needs a target, and a
  relative one may not climb above the root (moby's breakout checks);
- whiteouts (``.wh.NAME``) and opaque markers (``DIR/.wh..wh..opq``) become WHITEOUT and OPAQUE
  entries; refused: an opaque marker at the layer root, other ``.wh..wh.`` names, whiteouts of
  ``.``/``..``, whiteouts with data or of another kind, and a whiteout of a path the same layer
  holds;
- ``trusted.*`` xattrs (overlayfs keeps its own state there) are refused.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from imagegolf.digest import Digest
from imagegolf.errors import BadInputError
from imagegolf.oci import media
from imagegolf.oci.gzip import is_gzip, iter_gunzip
from imagegolf.oci.limits import DEFAULT_CAPS, Budget, Caps, check_cap
from imagegolf.oci.tar_entry import (
    DIRECTORY,
    FILE,
    HARDLINK,
    OPAQUE,
    SYMLINK,
    WHITEOUT,
    EntryKind,
    TarEntry,
)
from imagegolf.oci.tar_read import TarRefused, read_tar
from imagegolf.oci.zstd import is_zstd, iter_unzstd

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"
_PIECE = 1 << 16
NAME_MAX = 255  # Linux: a longer path component fails with ENAMETOOLONG when the engine creates it


@dataclass(frozen=True)
class LayerReading:
    """One layer, read once: what the engines store and what they unpack."""

    diff_id: Digest  # sha256 of the uncompressed tar stream, every byte of it
    tar_length: int  # that stream's length (podman counts it)
    entries: tuple[TarEntry, ...]  # as unpacked: cleaned paths, whiteouts as WHITEOUT/OPAQUE
    classic_size: int  # what overlay2's diff directory holds (docker_classic)


def iter_layer_tar(
    blob: bytes, media_type: str, *, caps: Caps = DEFAULT_CAPS, budget: Budget | None = None
) -> Iterator[bytes]:
    """The layer's tar stream in pieces, decompressed as its media type says.

    The bytes must be what the media type says: the engines pick the decompressor by the magic
    bytes (moby ``DetectCompression``, containers/storage likewise), so gzip or zstd data declared
    otherwise would be read one way here and another way there.
    """
    if media_type in media.LAYERS_GZIP:
        if not is_gzip(blob):
            holds = " (it holds zstd data)" if is_zstd(blob) else ""
            raise BadInputError(f"a layer declared {media_type} is not gzip data{holds}")
        pieces: Iterable[bytes] = iter_gunzip(blob, caps=caps)
    elif media_type in media.LAYERS_ZSTD:
        if not is_zstd(blob):
            holds = " (it holds gzip data)" if is_gzip(blob) else ""
            raise BadInputError(f"a layer declared {media_type} is not zstd data{holds}")
        pieces = iter_unzstd(blob, caps=caps)
    elif media_type in media.LAYERS_PLAIN:
        if is_gzip(blob):
            raise BadInputError(f"a layer declared {media_type} (uncompressed) holds gzip data")
        if is_zstd(blob):
            raise BadInputError(f"a layer declared {media_type} (uncompressed) holds zstd data")
        # The engines decompress a layer by its magic whatever its media type (moby and
        # containers/storage archive.DecompressStream): bzip2 and xz too.
        if blob.startswith((b"BZh", b"\xfd7zXZ\x00")):
            raise BadInputError(f"a layer declared {media_type} (uncompressed) holds bzip2 or xz data")
        check_cap(len(blob), caps.decompressed_bytes, "the size of an uncompressed layer")
        pieces = (blob[i : i + _PIECE] for i in range(0, len(blob), _PIECE))
    else:
        raise BadInputError(f"unknown layer media type {media_type!r}")
    for piece in pieces:
        if budget is not None:
            budget.charge_bytes(len(piece))
        yield piece


def read_layer(
    blob: bytes,
    media_type: str,
    *,
    caps: Caps = DEFAULT_CAPS,
    budget: Budget | None = None,
    keep_data: bool = False,
) -> LayerReading:
    """Decompress, hash, list and check one layer in a single pass."""
    hasher = hashlib.sha256()
    length = 0

    def counted() -> Iterator[bytes]:
        nonlocal length
        for piece in iter_layer_tar(blob, media_type, caps=caps, budget=budget):
            hasher.update(piece)
            length += len(piece)
            yield piece

    pieces = counted()
    entries = tuple(unpacked(read_tar(pieces, caps=caps, keep_data=keep_data, budget=budget)))
    for _ in pieces:  # bytes after the end of the archive still count in the diff_id and length
        pass
    return LayerReading(Digest(hasher.hexdigest()), length, entries, classic_size(entries))


def layer_entries(
    blob: bytes,
    media_type: str,
    *,
    caps: Caps = DEFAULT_CAPS,
    budget: Budget | None = None,
    keep_data: bool = False,
) -> Iterator[TarEntry]:
    """The layer's entries as unpacked, streamed (keep only the data you need)."""
    stream = iter_layer_tar(blob, media_type, caps=caps, budget=budget)
    return unpacked(read_tar(stream, caps=caps, keep_data=keep_data, budget=budget))


def unpacked(entries: Iterable[TarEntry]) -> Iterator[TarEntry]:
    """The tar reader's entries as the engines unpack them into one layer directory."""
    rules = _LayerRules()
    for number, entry in enumerate(entries, start=1):
        admitted = rules.admit(entry, number)
        if admitted is not None:
            yield admitted


def classic_size(entries: Iterable[TarEntry]) -> int:
    """What overlay2's diff directory holds: st_size of each non-directory inode once.

    moby's overlay2 ApplyDiff returns ``directory.Size`` of the diff directory: regular files
    count their size, symlinks the length of their target; hard links share their file's inode
    (counted once); directories, whiteouts (0/0 character devices), devices and FIFOs count 0.
    Within one layer no path is written twice (the reader refuses it), so every entry is final.
    """
    total = 0
    for entry in entries:
        if entry.kind == FILE:
            total += entry.size
        elif entry.kind == SYMLINK:
            total += len(entry.linkname.encode("utf-8", "surrogateescape"))
    return total


def clean_path(name: str) -> str:
    """A member name relative to the layer root (``./a/``, ``/a``, ``a//`` → ``a``), or TarRefused."""
    parts = name.split("/")
    if ".." in parts:
        raise TarRefused(f"the name {name!r} has a '..' component, which imagegolf refuses")
    return "/".join(part for part in parts if part not in ("", "."))


def climbs_out(link_path: str, target: str) -> bool:
    """True when a relative target, resolved from the link's directory, goes above the root."""
    if target.startswith("/"):
        return False  # absolute targets resolve inside the container's root
    depth = len([p for p in posixpath.dirname(link_path).split("/") if p])
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


class _LayerRules:
    """The engines' unpacking rules for one layer, applied entry by entry."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[int, TarEntry]] = {}  # cleaned tar path -> (number, raw entry)
        self.kinds: dict[str, EntryKind] = {}  # path in the layer directory -> what is there
        self.parents: dict[str, int] = {}  # directories holding earlier entries -> the first one
        self.whiteouts: dict[str, int] = {}  # whited-out path -> the whiteout's entry number

    def admit(self, entry: TarEntry, number: int) -> TarEntry | None:
        where = f"entry {number} (`{entry.path}`)"
        try:
            path = clean_path(entry.path)
        except TarRefused as refused:
            raise TarRefused(f"{where}: {refused}") from None
        if any(len(part.encode("utf-8", "surrogateescape")) > NAME_MAX for part in path.split("/")):
            raise TarRefused(f"{where} has a name component over {NAME_MAX} bytes: no engine can create it")
        if not path:
            if entry.kind != DIRECTORY:
                raise TarRefused(f"{where} would replace the layer's root directory with a {entry.kind}")
            return None  # moby skips the root directory entry (archive.go Unpack: hdr.Name == ".")
        self._check_duplicate(path, entry, number, where)
        self._check_xattrs(entry, where)
        parent, base = posixpath.split(path)
        if any(part.startswith(WHITEOUT_PREFIX) for part in parent.split("/")):
            raise TarRefused(f"{where} lies under a directory whose name starts with {WHITEOUT_PREFIX!r}")
        if base.startswith(WHITEOUT_PREFIX):
            return self._whiteout(entry, path, parent, base, number, where)
        self._check_place(path, entry.kind, number, where)
        linkname = entry.linkname
        if entry.kind == HARDLINK:
            linkname = self._hardlink_target(entry, where)
        elif entry.kind == SYMLINK:
            if not linkname:
                raise TarRefused(f"{where} is a symlink with an empty target, which no engine can create")
            if climbs_out(path, linkname):
                raise TarRefused(f"{where} is a symlink to {linkname}, which climbs out of the image root")
        self._record(path, entry.kind, number)
        return TarEntry(path, entry.kind, entry.size, entry.mode, linkname, entry.uid, entry.gid,
                        entry.data, entry.xattrs)  # fmt: skip

    def _check_duplicate(self, path: str, entry: TarEntry, number: int, where: str) -> None:
        earlier = self.seen.get(path)
        if earlier is not None:
            first, was = earlier
            raise TarRefused(
                f"{where} names the same path as entry {first} (`{was.path}`): tar-split refuses some "
                "spellings of a duplicate and moby keeps the last of the others"
            )
        self.seen[path] = (number, entry)

    @staticmethod
    def _check_xattrs(entry: TarEntry, where: str) -> None:
        for key, _ in entry.xattrs:
            # Rootful engines keep overlay state in trusted.overlay.*, rootless podman in
            # user.overlay.*; both apply what a tar sets (moby archive.go createTarFile Lsetxattr).
            if key.startswith(("trusted.", "user.overlay.")):
                raise TarRefused(
                    f"{where} sets the xattr {key}: overlayfs keeps its own state in trusted.* "
                    "(an opaque or redirected directory would change what the engine shows)"
                )

    def _check_place(self, path: str, kind: EntryKind, number: int, where: str) -> None:
        parts = path.split("/")
        for end in range(1, len(parts)):
            parent = "/".join(parts[:end])
            there = self.kinds.get(parent)
            if there is not None and there != DIRECTORY:
                raise TarRefused(f"{where} lies under /{parent}, which this layer made a {there}")
            if parent in self.whiteouts:
                raise TarRefused(f"{where} lies under /{parent}, which this layer whites out")
        if kind != DIRECTORY and path in self.parents:
            raise TarRefused(
                f"{where} replaces the directory holding entry {self.parents[path]} with a {kind}: "
                "the engine removes what this layer put in it"
            )
        if path in self.whiteouts:
            raise TarRefused(f"{where} is whited out by entry {self.whiteouts[path]} of the same layer")

    def _hardlink_target(self, entry: TarEntry, where: str) -> str:
        try:
            target = clean_path(entry.linkname)
        except TarRefused:
            raise TarRefused(
                f"{where} is a hard link to {entry.linkname!r}, which has a '..' component"
            ) from None
        kind = self.kinds.get(target)
        if kind not in (FILE, HARDLINK):
            raise TarRefused(
                f"{where} is a hard link to /{target}, which is not a file earlier in the same layer "
                "(a link to a file of the host, or of another layer?): refused"
            )
        return target

    def _whiteout(
        self, entry: TarEntry, path: str, parent: str, base: str, number: int, where: str
    ) -> TarEntry:
        if entry.kind != FILE or entry.size:
            raise TarRefused(f"{where} is a whiteout name on a {entry.kind} of {entry.size} bytes")
        if base == OPAQUE_WHITEOUT:
            if not parent:
                raise TarRefused(
                    f"{where} marks the layer root opaque: overlayfs does not honour it there, "
                    "other unpackers delete everything below"
                )
            self._check_place(parent, DIRECTORY, number, where)
            self._record(parent, DIRECTORY, number)
            self._note_parents(path, number)  # a later non-directory at the parent would remove it
            return TarEntry(parent, OPAQUE, 0, entry.mode, uid=entry.uid, gid=entry.gid)
        if base.startswith(WHITEOUT_META_PREFIX):
            raise TarRefused(f"{where} is an aufs metadata name ({WHITEOUT_META_PREFIX}…): refused")
        hidden = posixpath.join(parent, base[len(WHITEOUT_PREFIX) :])
        if base[len(WHITEOUT_PREFIX) :] in ("", ".", ".."):
            raise TarRefused(f"{where} whites out {base[len(WHITEOUT_PREFIX) :]!r}, which is not a name")
        if hidden in self.kinds or hidden in self.parents:
            raise TarRefused(f"{where} whites out /{hidden}, which the same layer holds")
        if parent:
            self._check_place(parent, DIRECTORY, number, where)
        self.whiteouts[hidden] = number
        self._note_parents(hidden, number)
        return TarEntry(hidden, WHITEOUT, 0, entry.mode, uid=entry.uid, gid=entry.gid)

    def _record(self, path: str, kind: EntryKind, number: int) -> None:
        self.kinds[path] = kind
        self._note_parents(path, number)

    def _note_parents(self, path: str, number: int) -> None:
        parts = path.split("/")
        for end in range(1, len(parts)):
            self.parents.setdefault("/".join(parts[:end]), number)
