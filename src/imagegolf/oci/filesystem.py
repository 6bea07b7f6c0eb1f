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
- an entry under a lower layer's file replaces that file with a directory, as the engines'
  MkdirAll after the RemoveAll leaves it; under a symlink the engines would follow the link:
  that is a refusal for the judge (``on_entry``), and the view keeps the entry at its own path;
- a hard link's header sets the owner and mode of the inode it shares (moby createTarFile:
  Lchown, then Chmod, on the link path).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from imagegolf.oci.image import Image
from imagegolf.oci.layer_read import layer_entries
from imagegolf.oci.limits import DEFAULT_CAPS, Budget, Caps
from imagegolf.oci.tar_entry import DIRECTORY, HARDLINK, OPAQUE, SYMLINK, WHITEOUT, TarEntry

MAX_SYMLINK_HOPS = 40  # Linux's MAXSYMLINKS


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
        self.nodes: dict[str, Node] = {}
        self._implicit_dirs: set[str] | None = None

    def add_layer(self, layer: int, entries: Iterable[TarEntry], on_entry: EntryCheck | None = None) -> None:
        """Stack one layer (numbered from 0, bottom first) on the ones added before."""
        listed = list(entries)
        hidden = {e.path for e in listed if e.kind == WHITEOUT}
        opaque = {e.path for e in listed if e.kind == OPAQUE}
        covered = {e.path for e in listed if e.kind not in (DIRECTORY, WHITEOUT, OPAQUE)}
        if hidden or opaque or covered:
            for path in [p for p, node in self.nodes.items() if node.layer < layer]:
                if _hidden_by(path, hidden, opaque, covered):
                    del self.nodes[path]
        for entry in listed:
            if entry.kind in (WHITEOUT, OPAQUE):
                continue
            if on_entry is not None:
                on_entry(self, layer, entry)
            self._replace_file_parents(entry.path, layer)
            self.nodes[entry.path] = Node(entry, layer)
            if entry.kind == HARDLINK:
                self._share_inode(entry)
        self._implicit_dirs = None

    def _replace_file_parents(self, path: str, layer: int) -> None:
        """A lower layer's non-directory where this entry needs a directory is replaced by one."""
        parts = path.split("/")
        for end in range(1, len(parts)):
            parent = "/".join(parts[:end])
            node = self.nodes.get(parent)
            if node is not None and node.entry.kind not in (DIRECTORY, SYMLINK) and node.layer < layer:
                del self.nodes[parent]

    def _share_inode(self, link: TarEntry) -> None:
        target = self.file_node(link.linkname)
        if target is not None:
            shared = replace(target.entry, mode=link.mode, uid=link.uid, gid=link.gid)
            self.nodes[target.entry.path] = Node(shared, target.layer)

    def implicit_dirs(self) -> set[str]:
        """Directories that exist because entries lie under them (tars may omit directory entries)."""
        if self._implicit_dirs is None:
            dirs: set[str] = set()
            for name in self.nodes:
                parts = name.split("/")
                dirs.update("/".join(parts[:end]) for end in range(1, len(parts)))
            self._implicit_dirs = dirs
        return self._implicit_dirs

    def is_dir(self, path: str) -> bool:
        node = self.nodes.get(path)
        if node is not None:
            return node.entry.kind == DIRECTORY
        return path == "" or path in self.implicit_dirs()

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
            node = self.nodes.get(node.entry.linkname)
        return None


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
