"""The five "image size" numbers of facts.md §4, computed from the image's bytes alone."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass

from imagegolf.oci.image import Image
from imagegolf.oci.layers import iter_layer_tar
from imagegolf.oci.limits import DEFAULT_CAPS, Caps
from imagegolf.oci.tar_entry import FILE, SYMLINK, TarEntry
from imagegolf.oci.tar_read import read_tar


@dataclass(frozen=True)
class SizeMetrics:
    docker_classic: int  # `docker images` SIZE on a classic overlay2 store
    containerd_content: int  # `ctr images ls` SIZE, Docker ≥ 29 CONTENT SIZE
    podman: int  # `podman images` SIZE
    registry_compressed: int  # Docker Hub / Quay: sum of the layer descriptor sizes
    pull_bytes: int  # every byte a pull transfers: index, manifest, config, layers

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def size_metrics(image: Image, *, caps: Caps = DEFAULT_CAPS) -> SizeMetrics:
    """All five metrics. ``image`` should have passed ``validate_image`` (it is not re-checked)."""
    manifest = len(image.manifest_bytes)
    config = len(image.config_bytes)
    index = len(image.index or b"")
    stored = sum(len(layer) for layer in image.layers)
    descriptors = image.manifest.layers
    tar_lengths: list[int] = []
    classic = 0
    for descriptor, blob in zip(descriptors, image.layers, strict=True):
        counted = _Counted(iter_layer_tar(blob, descriptor.media_type, caps=caps))
        classic += classic_layer_size(read_tar(counted, caps=caps))
        counted.drain()  # bytes after the end of the archive still count in the stream length
        tar_lengths.append(counted.length)
    return SizeMetrics(
        docker_classic=classic,
        # containerd counts every blob the image record reaches, the index included when present.
        containerd_content=index + manifest + config + stored,
        # containers/storage: uncompressed layer streams, the config, the manifest stored twice
        # (under "manifest" and "manifest-<digest>"), and the index when pulled through one.
        podman=sum(tar_lengths) + config + 2 * manifest + index,
        registry_compressed=sum(d.size for d in descriptors),
        pull_bytes=index + manifest + config + stored,
    )


class _Counted:
    """Passes pieces through and counts their bytes."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self.length = 0

    def __iter__(self) -> Iterator[bytes]:
        for piece in self._pieces:
            self.length += len(piece)
            yield piece

    def drain(self) -> None:
        for _ in self:
            pass


def classic_layer_size(entries: Iterable[TarEntry]) -> int:
    """What overlay2's diff directory holds: st_size of each non-directory inode once.

    Files count their size and symlinks the length of their target; hard links share their
    target's inode (counted once); directories, devices, FIFOs and whiteouts count 0. A path
    written twice in one layer keeps its last entry, as extraction does.
    """
    sizes: dict[str, int] = {}
    for entry in entries:
        if entry.kind == FILE:
            sizes[entry.path] = entry.size
        elif entry.kind == SYMLINK:
            sizes[entry.path] = len(entry.linkname.encode("utf-8", "surrogateescape"))
        else:
            sizes[entry.path] = 0
    return sum(sizes.values())
