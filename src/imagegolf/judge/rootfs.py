"""The image's root filesystem as the judge sees it: layer listings merged, never extracted.

Each layer comes from the layer reader (oci/layer_read.py), which already applied the engines'
unpacking rules within the layer (cleaned paths, duplicates, hard links, whiteouts) and the caps.
Here the layers are stacked as overlayfs shows them, and every entry is checked against what the
judge refuses (attacks.md §10-14); a refused entry raises :class:`BadInputError`, which the judge
reports as REJECTED_IMAGE.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace

from imagegolf.errors import BadInputError
from imagegolf.oci.tar_entry import (
    BLOCK_DEVICE,
    CHAR_DEVICE,
    DIRECTORY,
    FIFO,
    HARDLINK,
    OPAQUE,
    SYMLINK,
    WHITEOUT,
    TarEntry,
)

MAX_SYMLINK_HOPS = 40  # Linux's MAXSYMLINKS
# Places the runtime owns: it mounts its own /proc, /sys and /dev there.
RUNTIME_TREES = ("proc", "sys", "dev")
# Paths engines or the judge mount over; a link there would redirect the mount.
MOUNT_TARGETS = frozenset(
    {"etc/hosts", "etc/hostname", "etc/resolv.conf", "etc/passwd", "etc/group", "tmp", "var/tmp", "run"}
)
# The judge bind-mounts its own files there (engine/sandbox.py): anything but a file fails the mount.
FILE_MOUNT_TARGETS = frozenset({"etc/hosts", "etc/hostname", "etc/resolv.conf"})


@dataclass(frozen=True)
class Node:
    """One path of the merged root: its final entry and the layer (0-based) it came from."""

    entry: TarEntry
    layer: int


class RootFS:
    """Paths of the merged layers, relative to the root (``bin/busybox``; ``""`` is the root)."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.set_id_files: list[str] = []  # setuid/setgid files: powerless under no-new-privileges
        self._implicit_dirs: set[str] | None = None

    def add_layer(self, layer: int, entries: Iterable[TarEntry]) -> None:
        """Check and stack one layer as overlayfs does (image-spec layer.md, "Whiteouts").

        Its whiteouts delete a lower path and all below it; an opaque directory hides what lower
        layers hold inside it; a non-directory hides a lower directory with everything in it.
        """
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
            check_entry(entry, layer + 1)
            if entry.kind != DIRECTORY and entry.mode & 0o6000:
                self.set_id_files.append("/" + entry.path)
            self._check_parents(entry.path, layer)
            self.nodes[entry.path] = Node(entry, layer)
            if entry.kind == HARDLINK:
                self._share_inode(entry)
        self._implicit_dirs = None

    def _share_inode(self, link: TarEntry) -> None:
        """A hard link's owner and mode become its file's: the engines apply a link header's
        metadata to the inode it shares (moby pkg/archive createTarFile: Lchown, then Chmod)."""
        target = self.file_node(link.linkname)
        if target is not None:
            shared = replace(target.entry, mode=link.mode, uid=link.uid, gid=link.gid)
            self.nodes[target.entry.path] = Node(shared, target.layer)

    def _check_parents(self, path: str, layer: int) -> None:
        """No entry may be written through a symlink (attacks.md §10).

        A lower layer's file where this layer puts a directory is replaced (as overlayfs shows
        it); within one layer it is an error.
        """
        parts = path.split("/")
        for end in range(1, len(parts)):
            parent = "/".join(parts[:end])
            node = self.nodes.get(parent)
            if node is None or node.entry.kind == DIRECTORY:
                continue
            if node.entry.kind == SYMLINK:
                raise BadInputError(
                    f"layer {layer + 1} writes /{path} through the symlink /{parent} -> "
                    f"{node.entry.linkname}: a symlink escape, refused"
                )
            if node.layer == layer:
                raise BadInputError(
                    f"layer {layer + 1} puts /{path} under /{parent}, which is not a directory"
                )
            del self.nodes[parent]

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


def check_entry(entry: TarEntry, layer_number: int) -> None:
    """Refuse entries that are dangerous to the host or aimed at the runtime (attacks.md §12-14)."""
    where = f"layer {layer_number}: /{entry.path}"
    if entry.kind in (CHAR_DEVICE, BLOCK_DEVICE):
        raise BadInputError(f"{where} is a device node; device nodes are refused")
    if entry.kind == FIFO:
        raise BadInputError(f"{where} is a FIFO; FIFOs are refused")
    # setuid/setgid files are not refused (every distro base has some: su, passwd, chage); they are
    # noted, and the run's no-new-privileges, dropped capabilities and uid 65534 leave them powerless.
    top, _, rest = entry.path.partition("/")
    if top in RUNTIME_TREES and (rest or entry.kind != DIRECTORY):
        raise BadInputError(
            f"{where}: the runtime mounts its own /{top}; an image may hold only an empty /{top} directory"
        )
    if entry.path in MOUNT_TARGETS and entry.kind in (SYMLINK, HARDLINK):
        raise BadInputError(f"{where} is a link, but the runtime mounts a file or directory there")
    file_mount = next((t for t in FILE_MOUNT_TARGETS if entry.path.startswith(t + "/")), None)
    if file_mount or (entry.path in FILE_MOUNT_TARGETS and entry.kind == DIRECTORY):
        raise BadInputError(
            f"{where} makes /{file_mount or entry.path} a directory, but the judge mounts its own file there"
        )
