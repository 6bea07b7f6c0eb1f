"""An image's files as a container sees them: the layers stacked, whiteouts applied, nothing extracted.

Pure: tar entries in, a tree of paths out. Each layer comes from the layer reader
(``layer_read.py``), which already applied the engines' rules *within* a layer: cleaned paths,
duplicates, hard links, whiteouts turned into WHITEOUT and OPAQUE entries, and the refusal of a
whiteout of a path the same layer holds. Here the layers are stacked, as every reader of an
image's files needs them (the judge's screen, ``explain``, the contest's detail page, the ladder):

- a whiteout ``.wh.NAME`` deletes NAME, and all below it, of the layers below; an opaque marker
  ``DIR/.wh..wh..opq`` hides what the layers below hold in DIR. Both act on lower layers only:
  "Whiteout files MUST only apply to resources in lower/parent layers. Files that are present in
  the same layer as a whiteout file can only be hidden by whiteout files in subsequent layers"
  (image-spec layer.md, "Whiteouts"). moby's UnpackLayer (pkg/archive/diff.go) and
  containers/storage's (pkg/archive) keep the paths the layer itself unpacked when they meet an
  opaque marker, and the layer reader refuses a whiteout of a path of its own layer, so the
  stream order inside a layer never matters here;
- an entry replaces what a lower layer holds at its path unless both are directories (moby
  UnpackLayer: ``if !(fi.IsDir() && hdr.Typeflag == tar.TypeDir) { os.RemoveAll(path) }``), so
  a file or link over a lower directory hides everything in it;
- every layer is unpacked into a directory of its own, and a parent its tar does not name is
  made there (0755 root:root, ``MADE_DIR_MODE``) for its entries, whiteouts and opaque markers
  alike: that directory replaces a lower file or symlink at its path, hides the mode and owner
  of a lower directory, and stays when what was below it is whited out later. Under a lower
  symlink that is what dockerd and podman show; an unpacker writing into the merged tree would
  follow the link instead, so the judge refuses such entries (``on_entry``);
- a hard link's header sets the owner and mode of the inode it shares (moby createTarFile:
  Lchown, then Chmod, on the link path), and the inode outlives its first path: a link keeps
  the file's content when a layer above whites out or replaces the path it was linked to.

tests/oci/test_filesystem_engines.py checks this view against dockerd and podman themselves on
generated images.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from imagegolf.oci.image import Image
from imagegolf.oci.layer_read import layer_entries
from imagegolf.oci.limits import DEFAULT_CAPS, Budget, Caps
from imagegolf.oci.tar_entry import DIRECTORY, FILE, HARDLINK, OPAQUE, SYMLINK, WHITEOUT, TarEntry

MAX_SYMLINK_HOPS = 40  # Linux's MAXSYMLINKS
OPAQUE_NAME = ".wh..wh..opq"
# The mode and owner of a parent directory a layer does not name: moby and containers/storage
# Unpack (pkg/archive/archive.go) make it with ``idtools.MkdirAllAndChownNew(parentPath, 0777,
# rootIDs)``, 0755 root:root under the daemons' umask 022 (dockerd and podman both show it).
MADE_DIR_MODE = 0o755


@dataclass(frozen=True)
class Node:
    """One path of the merged tree: its final entry and the layer (0-based) it came from."""

    entry: TarEntry
    layer: int


# Called with each entry of a layer (whiteouts aside) before it is placed, the tree as the
# layers below and the earlier entries left it: the judge refuses entries here.
EntryCheck = Callable[["Filesystem", int, TarEntry], None]


class Filesystem:
    """Paths of the merged layers, relative to the root (``bin/busybox``; ``""`` is the root)."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}  # what the layers' entries put there
        # Directories no entry names, made by the engine for what a layer holds below them (see
        # _make_parents): path -> a DIRECTORY node of mode MADE_DIR_MODE, owned by root.
        self.made_dirs: dict[str, Node] = {}
        # Files no longer at their path (whited out, replaced) that a hard link of their own layer
        # still shares: (layer, path) -> node. The inode lives on under the link's name.
        self._detached: dict[tuple[int, str], Node] = {}

    def add_layer(self, layer: int, entries: Iterable[TarEntry], on_entry: EntryCheck | None = None) -> None:
        """Stack one layer (numbered from 0, bottom first) on the ones added before."""
        listed = list(entries)
        hidden = {e.path for e in listed if e.kind == WHITEOUT}
        opaque = {e.path for e in listed if e.kind == OPAQUE}
        covered = {e.path for e in listed if e.kind not in (DIRECTORY, WHITEOUT, OPAQUE)}
        if hidden or opaque or covered:
            for path in [p for p, node in self.nodes.items() if node.layer < layer]:
                if path in self.nodes and _hidden_by(path, hidden, opaque, covered):
                    self._remove(path)
            for path in [p for p, node in self.made_dirs.items() if node.layer < layer]:
                if _hidden_by(path, hidden, opaque, covered):
                    del self.made_dirs[path]
        for entry in listed:
            if entry.kind == WHITEOUT:
                self._make_parents(entry.path, layer)
                continue
            if entry.kind == OPAQUE:
                # moby and containers/storage create the marker's directory (MkdirAll of the
                # marker's parent) before the overlay whiteout converter marks it opaque.
                self._make_parents(entry.path + "/" + OPAQUE_NAME, layer)
                continue
            if on_entry is not None:
                on_entry(self, layer, entry)
            self._make_parents(entry.path, layer)
            self.made_dirs.pop(entry.path, None)
            if entry.path in self.nodes:
                self._remove(entry.path)
            self.nodes[entry.path] = Node(entry, layer)
            if entry.kind == HARDLINK:
                self._share_inode(entry, layer)

    def _make_parents(self, path: str, layer: int) -> None:
        """The directories above ``path``, as the engine's MkdirAll leaves them in this layer.

        dockerd (overlay2) and podman (overlay) unpack a layer into a directory of its own with
        pkg/archive Unpack, which makes a missing parent there before each entry ("ensure that
        the parent directory exists": ``os.Lstat``, then ``idtools.MkdirAllAndChownNew(parentPath,
        0777, rootIDs)``, in moby's and containers/storage's archive.go), so a parent the layer
        names no entry for is still a directory of this layer, 0755 root:root (``MADE_DIR_MODE``).
        overlayfs shows it over a lower layer's file or symlink at that path (a directory hides a
        lower non-directory), and merges it with a lower directory, whose mode and owner it hides
        (the upper's show). Under a lower symlink that is the engines' reading: the judge refuses
        such entries (``on_entry``) because an unpacker that writes into the merged tree would
        follow the link instead.
        """
        parts = path.split("/")
        for end in range(1, len(parts)):
            parent = "/".join(parts[:end])
            node = self.nodes.get(parent) or self.made_dirs.get(parent)
            if node is not None and node.layer == layer:
                continue  # a directory of this layer already (the layer reader refuses others)
            if parent in self.nodes:
                self._remove(parent)
            self.made_dirs[parent] = Node(TarEntry(parent, DIRECTORY, 0, MADE_DIR_MODE), layer)

    def _remove(self, path: str) -> None:
        """Take ``path`` out of the tree; a file keeps living for the hard links that share it."""
        node = self.nodes.pop(path)
        if node.entry.kind in (FILE, HARDLINK):
            self._detached[(node.layer, path)] = node

    def _share_inode(self, link: TarEntry, layer: int) -> None:
        target = self._linked(link.linkname, layer)
        if target is not None:
            shared = replace(target.entry, mode=link.mode, uid=link.uid, gid=link.gid)
            updated = Node(shared, target.layer)
            if self.nodes.get(target.entry.path) is target:
                self.nodes[target.entry.path] = updated
            else:
                self._detached[(target.layer, target.entry.path)] = updated

    def implicit_dirs(self) -> set[str]:
        """Directories that exist because something of a layer lies under them (tars may omit
        directory entries; whiteouts and opaque markers make their parents too)."""
        return set(self.made_dirs)

    def is_dir(self, path: str) -> bool:
        node = self.nodes.get(path)
        if node is not None:
            return node.entry.kind == DIRECTORY
        return path == "" or path in self.made_dirs

    def resolve(self, path: str, *, follow_last: bool = True) -> str | None:
        """Where ``path`` leads inside the image (symlinks followed with chroot semantics), or None."""
        parts = deque(p for p in path.split("/") if p not in ("", "."))
        resolved: list[str] = []
        hops = 0
        while parts:
            part = parts.popleft()
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = "/".join([*resolved, part])
            node = self.nodes.get(candidate)
            if node is not None and node.entry.kind == SYMLINK and (parts or follow_last):
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    return None
                target = node.entry.linkname
                if target.startswith("/"):
                    resolved = []
                parts.extendleft(reversed([p for p in target.split("/") if p not in ("", ".")]))
                continue
            if node is None and not self.is_dir(candidate):
                return None
            if parts and not self.is_dir(candidate):
                return None  # a file in the middle of a path: ENOTDIR
            resolved.append(part)
        return "/".join(resolved)

    def file_node(self, path: str) -> Node | None:
        """The node a resolved path names, hard links followed to the file they share."""
        node = self.nodes.get(path)
        for _ in range(MAX_SYMLINK_HOPS):
            if node is None or node.entry.kind != HARDLINK:
                return node
            node = self._linked(node.entry.linkname, node.layer)
        return None

    def _linked(self, path: str, layer: int) -> Node | None:
        """The node a hard link of ``layer`` names: always of the same layer (the layer reader
        refuses others), still at its path or detached from it by a layer above."""
        node = self.nodes.get(path)
        if node is not None and node.layer == layer:
            return node
        return self._detached.get((layer, path))


def _hidden_by(path: str, hidden: set[str], opaque: set[str], covered: set[str]) -> bool:
    """Whether an upper layer's whiteouts, opaque directories or non-directories hide ``path``."""
    if path in hidden:
        return True
    parts = path.split("/")
    for end in range(1, len(parts)):
        above = "/".join(parts[:end])
        if above in hidden or above in opaque or above in covered:
            return True
    return False


def image_filesystem(
    image: Image, *, caps: Caps = DEFAULT_CAPS, budget: Budget | None = None, keep_data: bool = False
) -> Filesystem:
    """The merged tree of ``image``'s layers (file contents kept only when ``keep_data``)."""
    tree = Filesystem()
    for number, (descriptor, blob) in enumerate(zip(image.manifest.layers, image.layers, strict=True)):
        tree.add_layer(
            number, layer_entries(blob, descriptor.media_type, caps=caps, budget=budget, keep_data=keep_data)
        )
    return tree


def file_data(
    image: Image, node: Node, *, caps: Caps = DEFAULT_CAPS, budget: Budget | None = None
) -> bytes | None:
    """The content of the file ``node`` names, read again from its own layer (None if not a file)."""
    if node.entry.data is not None:
        return node.entry.data
    descriptor, blob = image.manifest.layers[node.layer], image.layers[node.layer]
    for entry in layer_entries(blob, descriptor.media_type, caps=caps, budget=budget, keep_data=True):
        if entry.path == node.entry.path:
            return entry.data
    return None
