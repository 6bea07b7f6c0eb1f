"""Hypothesis strategies for multi-layer images, for the differential test of the image-filesystem
view (oci/filesystem.py) against the engines (tests/oci/test_filesystem_engines.py).

Paths come from a tiny namespace (components ``a`` and ``b``, three deep, plus leaf names ``s``)
so that layers collide often: a whiteout or an opaque marker meets lower paths, a file lands on a
lower directory, an entry lands under a lower file. Every layer obeys the rules the layer reader
enforces within one layer (oci/layer_read.py), so the judge accepts the image; the stacking across
layers is free. The one stacking refusal (an entry under a lower layer's symlink, judge/rootfs.py)
is kept out by where symlinks may go: in every layer but the top one only at the leaf names ``s``,
under which nothing is ever drawn; the top layer may put one anywhere, nothing comes above it.

``refused_images`` adds one twist to such an image that the judge refuses, for the second property.
"""

from __future__ import annotations

import enum
import posixpath
import tarfile
from dataclasses import dataclass, replace

from hypothesis import strategies as st

from imagegolf.digest import Digest
from imagegolf.oci import media
from imagegolf.oci.config import build_config, parse_config
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.image import Image
from imagegolf.oci.manifest import build_manifest, parse_manifest
from imagegolf.oci.tar_entry import DIRECTORY, FILE, TarEntry
from imagegolf.oci.tar_write import write_tar
from imagegolf.platform import LINUX_AMD64
from tests.judge.images import member, tar_layer

COMPONENTS = ("a", "b")
PARENTS = ("", "a", "b", "a/a", "a/b", "b/a", "b/b")
# Every path entries may take: a, a/b, b/a/a … (three deep), and the leaf names s under the
# first two levels. Nothing is drawn under an s, so a symlink there never has entries below it.
PATHS = tuple(
    sorted(
        {posixpath.join(parent, name) for parent in PARENTS for name in COMPONENTS}
        | {posixpath.join(p, "s") for p in PARENTS}
    )
)
LEAVES = tuple(p for p in PATHS if posixpath.basename(p) == "s")
FILE_MODES = (0o644, 0o755, 0o600, 0o640, 0o4755, 0o2711)
DIR_MODES = (0o755, 0o700, 0o750, 0o1777, 0o711)
OWNERS = (0, 1000)
# Symlink targets: absolute, relative (one through ..), and dangling.
TARGETS = ("/a", "/a/b", "b", "a/../b", "/nowhere", "s")
DATA = st.sampled_from((b"", b"x", b"hello\n", b"\x00\xff" * 300))


class Op(enum.Enum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    WHITEOUT = "whiteout"
    OPAQUE = "opaque"


@dataclass(frozen=True)
class GeneratedImage:
    """An image and the layers' entries it was written from (whiteouts as ``.wh.`` files)."""

    layers: tuple[tuple[TarEntry, ...], ...]
    twist: str = ""  # the refusal twist taken (refused_images), else ""
    # A last layer imagegolf's writer will not write (a hard link to another layer's file),
    # written with Python's tarfile (tests/judge/images.py).
    raw_top: bytes = b""

    @property
    def image(self) -> Image:
        return build_image(self.layers, self.raw_top)

    def describe(self) -> str:
        lines = [f"twist: {self.twist}"] if self.twist else []
        for number, entries in enumerate(self.layers):
            lines.append(f"layer {number}:")
            for e in sorted(entries, key=lambda e: e.path):
                extra = f" -> {e.linkname}" if e.linkname else f" {e.data!r}" if e.kind == FILE else ""
                lines.append(f"  {e.kind:8} {e.path} {e.mode:o} {e.uid}:{e.gid}{extra}")
        if self.raw_top:
            lines.append(f"layer {len(self.layers)}: written by tarfile ({len(self.raw_top)} bytes)")
        return "\n".join(lines)


def build_image(layers: tuple[tuple[TarEntry, ...], ...], raw_top: bytes = b"") -> Image:
    """An uncompressed OCI image of these layers, written by imagegolf's own tar writer."""
    tars = [write_tar(entries) for entries in layers] + ([raw_top] if raw_top else [])
    config = build_config(LINUX_AMD64, [Digest.of(t) for t in tars], entrypoint=["/a"])
    manifest = build_manifest(
        Descriptor.of(media.OCI_CONFIG, config), [Descriptor.of(media.OCI_LAYER, t) for t in tars]
    )
    return Image(parse_manifest(manifest, media_type=media.OCI_MANIFEST), parse_config(config), tuple(tars))


def whiteout_entry(path: str, *, opaque: bool = False) -> TarEntry:
    """``DIR/.wh.NAME`` (or ``DIR/.wh..wh..opq`` for an opaque ``path``): an empty regular file."""
    if opaque:
        return TarEntry.file(posixpath.join(path, ".wh..wh..opq"), b"", 0o644)
    head, name = posixpath.split(path)
    return TarEntry.file(posixpath.join(head, f".wh.{name}"), b"", 0o644)


class _Layer:
    """One layer being drawn, kept within the layer reader's rules."""

    def __init__(self, top: bool) -> None:
        self.top = top
        self.entries: dict[str, TarEntry] = {}
        self.whiteouts: set[str] = set()
        self.opaque: set[str] = set()

    def _taken(self) -> set[str]:
        return set(self.entries) | self.whiteouts

    def _has_below(self, path: str) -> bool:
        prefix = path + "/"
        return any(p.startswith(prefix) for p in self._taken() | self.opaque)

    def _parent_ok(self, path: str) -> bool:
        """No ancestor is a non-directory or a whiteout of this layer."""
        parts = path.split("/")
        for end in range(1, len(parts)):
            parent = "/".join(parts[:end])
            held = self.entries.get(parent)
            if (held is not None and held.kind != DIRECTORY) or parent in self.whiteouts:
                return False
        return True

    def add(self, op: Op, path: str, draw: st.DrawFn) -> None:
        if not self._parent_ok(path):
            return
        if op == Op.OPAQUE:
            held = self.entries.get(path)
            # Nothing under s, opaque markers included; the marker's directory may be an entry.
            if path not in LEAVES and path not in self.whiteouts and (held is None or held.kind == DIRECTORY):
                self.opaque.add(path)
            return
        if path in self._taken():
            return
        if op == Op.DIR:
            mode = draw(st.sampled_from(DIR_MODES))
            self.entries[path] = _owned(TarEntry.directory(path, mode), draw)
            return
        if self._has_below(path) or path in self.opaque:
            return  # a non-directory over this layer's own entries: the layer reader refuses it
        if op == Op.FILE:
            entry = TarEntry.file(path, draw(DATA), draw(st.sampled_from(FILE_MODES)))
            self.entries[path] = _owned(entry, draw)
        elif op == Op.SYMLINK:
            if path not in LEAVES and not self.top:
                return
            self.entries[path] = TarEntry.symlink(path, draw(st.sampled_from(TARGETS)))
        elif op == Op.HARDLINK:
            files = sorted(p for p, e in self.entries.items() if e.kind == FILE)
            if files:
                target = draw(st.sampled_from(files))
                link = TarEntry.hardlink(path, target, draw(st.sampled_from(FILE_MODES)))
                self.entries[path] = _owned(link, draw)
        else:
            self.whiteouts.add(path)

    def tar_entries(self) -> tuple[TarEntry, ...]:
        out = list(self.entries.values())
        out += [whiteout_entry(p) for p in sorted(self.whiteouts)]
        out += [whiteout_entry(p, opaque=True) for p in sorted(self.opaque)]
        return tuple(out)


def _owned(entry: TarEntry, draw: st.DrawFn) -> TarEntry:
    uid = draw(st.sampled_from(OWNERS))
    return replace(entry, uid=uid, gid=uid)


@st.composite
def _layer(draw: st.DrawFn, top: bool) -> tuple[TarEntry, ...]:
    layer = _Layer(top)
    for _ in range(draw(st.integers(0, 7))):
        layer.add(draw(st.sampled_from(Op)), draw(st.sampled_from(PATHS)), draw)
    return layer.tar_entries()


@st.composite
def images(draw: st.DrawFn) -> GeneratedImage:
    """1-4 layers the judge accepts, colliding across layers in every way the engines handle."""
    count = draw(st.integers(1, 4))
    return GeneratedImage(tuple(draw(_layer(top=n == count - 1)) for n in range(count)))


class Twist(enum.Enum):
    """One shape the judge refuses, put on top of an accepted image."""

    SAME_LAYER_WHITEOUT = "a layer holds a path and its whiteout"
    UNDER_LOWER_SYMLINK = "a layer writes under a symlink of the layer below"
    MARKER_UNDER_LOWER_SYMLINK = "a layer's whiteout or opaque marker lies under a symlink of the layer below"
    UNDER_OWN_FILE = "a layer puts an entry under its own file"
    HARDLINK_TO_LOWER = "a hard link names a file of the layer below"


@st.composite
def refused_images(draw: st.DrawFn, twist: Twist) -> GeneratedImage:
    """An accepted image with ``twist`` on top: the layers it adds write ``q`` (or ``a/q``) and ``r``."""
    base = draw(images())
    name = draw(st.sampled_from(("q", "a/q")))
    data = draw(DATA)
    if twist == Twist.SAME_LAYER_WHITEOUT:
        extra: tuple[tuple[TarEntry, ...], ...] = ((TarEntry.file(name, data, 0o644), whiteout_entry(name)),)
    elif twist == Twist.UNDER_LOWER_SYMLINK:
        target = draw(st.sampled_from(("/a", "/w", "w")))
        extra = ((TarEntry.symlink(name, target),), (TarEntry.file(f"{name}/r", data, 0o644),))
    elif twist == Twist.MARKER_UNDER_LOWER_SYMLINK:
        target = draw(st.sampled_from(("/a", "/w", "w")))
        marker = draw(st.sampled_from((whiteout_entry(f"{name}/r"), whiteout_entry(name, opaque=True))))
        extra = ((TarEntry.symlink(name, target),), (marker,))
    elif twist == Twist.UNDER_OWN_FILE:
        extra = ((TarEntry.file(name, data, 0o644), TarEntry.file(f"{name}/r", b"inner", 0o644)),)
    else:
        link = tar_layer(member("r", kind=tarfile.LNKTYPE, link=name, mode=0o644))
        return GeneratedImage((*base.layers, (TarEntry.file(name, data, 0o644),)), twist.name, link)
    return GeneratedImage(base.layers + extra, twist.name)
