"""The image's root filesystem as the judge sees it: the merged layers, checked as they are stacked.

The stacking itself (whiteouts, opaque directories, replaced paths, hard links) is the one image
filesystem view of ``oci/filesystem.py``, which every reader of an image's files uses. Here every
entry is checked against what the judge refuses (docs/judge.md #10-14) as it is placed; a refused
entry raises :class:`BadInputError`, which the judge reports as REJECTED_IMAGE.
"""

from __future__ import annotations

from collections.abc import Iterable

from imagegolf.errors import BadInputError
from imagegolf.oci.filesystem import OPAQUE_NAME, EntryCheck, Filesystem, Node
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

__all__ = ["FILE_MOUNT_TARGETS", "MOUNT_TARGETS", "RUNTIME_TREES", "Node", "RootFS", "check_entry"]

# Places the runtime owns: it mounts its own /proc, /sys and /dev there.
RUNTIME_TREES = ("proc", "sys", "dev")
# Paths engines or the judge mount over; a link there would redirect the mount.
MOUNT_TARGETS = frozenset(
    {"etc/hosts", "etc/hostname", "etc/resolv.conf", "etc/passwd", "etc/group", "tmp", "var/tmp", "run"}
)
# The judge bind-mounts its own files there (engine/sandbox.py): anything but a file fails the mount.
FILE_MOUNT_TARGETS = frozenset({"etc/hosts", "etc/hostname", "etc/resolv.conf"})


class RootFS(Filesystem):
    """The merged layers (``oci.filesystem.Filesystem``), each entry checked as it is stacked."""

    def __init__(self) -> None:
        super().__init__()
        self.set_id_files: list[str] = []  # setuid/setgid files: powerless under no-new-privileges

    def add_layer(self, layer: int, entries: Iterable[TarEntry], on_entry: EntryCheck | None = None) -> None:
        """Check and stack one layer as overlayfs does (image-spec layer.md, "Whiteouts")."""
        listed = list(entries)
        for entry in listed:  # checked against the layers below, before this one is stacked
            if entry.kind == WHITEOUT:
                self._check_parents(entry.path, layer, "whites out")
            elif entry.kind == OPAQUE:
                self._check_parents(f"{entry.path}/{OPAQUE_NAME}", layer, "marks opaque")

        def check(tree: Filesystem, number: int, entry: TarEntry) -> None:
            check_entry(entry, number + 1)
            if entry.kind != DIRECTORY and entry.mode & 0o6000:
                self.set_id_files.append("/" + entry.path)
            self._check_parents(entry.path, number)
            if on_entry is not None:
                on_entry(tree, number, entry)

        super().add_layer(layer, listed, check)

    def _check_parents(self, path: str, layer: int, verb: str = "writes") -> None:
        """No entry may be written through a symlink (docs/judge.md #10), nor under a non-directory
        of its own layer; a lower layer's file there is replaced by the view, as overlayfs shows it.

        Whiteouts and opaque markers count as written: dockerd and podman make the directory they
        lie in (a real directory over a lower symlink, which keeps what the link points to), but an
        unpacker that writes into the merged tree would follow the link and delete there."""
        parts = path.split("/")
        for end in range(1, len(parts)):
            parent = "/".join(parts[:end])
            node = self.nodes.get(parent)
            if node is None or node.entry.kind == DIRECTORY:
                continue
            if node.entry.kind == SYMLINK:
                raise BadInputError(
                    f"layer {layer + 1} {verb} /{path} through the symlink /{parent} -> "
                    f"{node.entry.linkname}: a symlink escape, refused"
                )
            if node.layer == layer:
                raise BadInputError(
                    f"layer {layer + 1} puts /{path} under /{parent}, which is not a directory"
                )


def check_entry(entry: TarEntry, layer_number: int) -> None:
    """Refuse entries that are dangerous to the host or aimed at the runtime (docs/judge.md #12-14)."""
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
