"""Images for the judge's tests, hostile ones included, built from raw parts.

Layers are written with Python's ``tarfile`` (independent of imagegolf.oci, and able to write what
imagegolf's own writer refuses: ``..`` names, links through symlinks, device nodes). Manifests
and configs may lie; ``write_oci_archive`` stores whatever it is given.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import tarfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imagegolf.digest import Digest
from imagegolf.oci import media
from imagegolf.oci.config import build_config, parse_config
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.gzip import gzip_bytes
from imagegolf.oci.image import Image
from imagegolf.oci.layout import blob_path
from imagegolf.oci.limits import Caps
from imagegolf.oci.manifest import build_index, build_manifest, parse_manifest
from imagegolf.oci.tar_entry import TarEntry
from imagegolf.oci.tar_write import write_tar
from imagegolf.platform import LINUX_AMD64, Platform

PHRASE = "hello IDBS engineering"
LAX = Caps(manifest_bytes=1 << 24, config_bytes=1 << 24, layer_count=1000)  # for parsing hostile parts


@functools.cache
def busybox() -> bytes:
    return Path("/bin/busybox").read_bytes()


def member(
    name: str,
    data: bytes = b"",
    *,
    mode: int = 0o755,
    kind: bytes = tarfile.REGTYPE,
    link: str = "",
    uid: int = 0,
    devmajor: int = 0,
    devminor: int = 0,
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname, info.uid, info.gid = kind, mode, link, uid, uid
    info.devmajor, info.devminor = devmajor, devminor
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data


def tar_layer(*members: tuple[tarfile.TarInfo, bytes], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """A layer tar with exactly these members, in this order."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
    return out.getvalue()


@functools.cache
def busybox_layer() -> bytes:
    return tar_layer(member("bin/", kind=tarfile.DIRTYPE), member("bin/busybox", busybox()))


@dataclass(frozen=True)
class Parts:
    """An image as raw parts: exactly these bytes are stored, whatever they claim."""

    manifest: bytes
    config: bytes
    blobs: tuple[bytes, ...]

    def image(self, index: bytes | None = None, caps: Caps = LAX) -> Image:
        """The parts as an Image value, parsed but not validated (what a lax fetch could return)."""
        manifest = parse_manifest(self.manifest, media_type=media.OCI_MANIFEST, caps=caps)
        return Image(manifest, parse_config(self.config, caps=caps), self.blobs, index=index)


def parts(
    layer_tars: Sequence[bytes],
    process: dict[str, Any] | None = None,
    *,
    platform: Platform = LINUX_AMD64,
    compress: bool = False,
    config_extra: dict[str, Any] | None = None,
    diff_ids: Sequence[str] | None = None,
    layer_media_type: str | None = None,
    descriptor_extra: dict[str, Any] | None = None,
    manifest_extra: dict[str, Any] | None = None,
) -> Parts:
    """Manifest, config and blobs for these layer tars; every ``*_extra`` is merged in as given."""
    blobs = tuple(gzip_bytes(t) if compress else t for t in layer_tars)
    config_body: dict[str, Any] = {
        "architecture": platform.architecture,
        "os": platform.os,
        "config": process if process is not None else {"Cmd": ["/bin/busybox", "echo", PHRASE]},
        "rootfs": {
            "type": "layers",
            "diff_ids": list(diff_ids) if diff_ids is not None else [str(Digest.of(t)) for t in layer_tars],
        },
        **(config_extra or {}),
    }
    if platform.variant:
        config_body["variant"] = platform.variant
    config = json.dumps(config_body, sort_keys=True).encode()
    layer_type = layer_media_type or (media.OCI_LAYER_GZIP if compress else media.OCI_LAYER)
    layers = [{**Descriptor.of(layer_type, b).to_json(), **(descriptor_extra or {})} for b in blobs]
    manifest_body = json.loads(build_manifest(Descriptor.of(media.OCI_CONFIG, config), []))
    manifest_body["layers"] = layers
    manifest_body.update(manifest_extra or {})
    return Parts(json.dumps(manifest_body, sort_keys=True).encode(), config, blobs)


def busybox_parts(script: str | None = None, **process: Any) -> Parts:
    """Static busybox; ``script`` runs under its sh (its applets work without /bin links)."""
    if script is not None:
        process.setdefault("Cmd", ["/bin/busybox", "sh", "-c", script])
    return parts([busybox_layer()], process)


def write_oci_archive(
    path: Path, image: Parts, *, index: bytes | None = None, extra_blobs: Sequence[bytes] = ()
) -> Path:
    """An OCI archive holding the parts as given; index.json points at ``index`` or the manifest."""
    files = {blob_path(Digest.of(b)): b for b in (image.manifest, image.config, *image.blobs, *extra_blobs)}
    if index is None:
        top = Descriptor(media.OCI_MANIFEST, Digest.of(image.manifest), len(image.manifest))
    else:
        files[blob_path(Digest.of(index))] = index
        top = Descriptor(media.OCI_INDEX, Digest.of(index), len(index))
    files["index.json"] = build_index([top])
    files["oci-layout"] = b'{"imageLayoutVersion":"1.0.0"}'
    path.write_bytes(write_tar([TarEntry.file(name, data, 0o644) for name, data in files.items()]))
    return path


def index_of(*images: tuple[Parts, Platform | None]) -> bytes:
    return build_index(
        [
            Descriptor(media.OCI_MANIFEST, Digest.of(p.manifest), len(p.manifest), platform=platform)
            for p, platform in images
        ]
    )


def gzip_bomb(decompressed: int, *, true_diff_id: bool = False) -> tuple[bytes, str]:
    """A gzip layer of one file of zeros whose tar is ``decompressed`` bytes, and its diff_id
    (a fake one unless ``true_diff_id``: then the layer is valid, only big)."""
    header = tarfile.TarInfo("zeros")
    header.size = decompressed - 1024
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    first = header.tobuf(tarfile.USTAR_FORMAT)
    chunks = [compressor.compress(first)]
    digest = hashlib.sha256(first)
    zeros = bytes(1 << 20)
    remaining = header.size + 1024 - 512
    while remaining > 0:
        piece = zeros[: min(remaining, len(zeros))]
        chunks.append(compressor.compress(piece))
        if true_diff_id:
            digest.update(piece)
        remaining -= len(piece)
    chunks.append(compressor.flush())
    fake = hashlib.sha256(b"not the tar")
    return b"".join(chunks), "sha256:" + (digest if true_diff_id else fake).hexdigest()


def layered_image(
    layers: Sequence[Sequence[TarEntry]],
    cmd: Sequence[str],
    *,
    platform: Platform = LINUX_AMD64,
    compress: bool = True,
    compact: bool = False,
) -> Image:
    """A multi-layer image written by imagegolf.oci (deterministic tars, gzip or not)."""
    tars = [write_tar(entries, compact=compact) for entries in layers]
    blobs = tuple(gzip_bytes(t) if compress else t for t in tars)
    layer_type = media.OCI_LAYER_GZIP if compress else media.OCI_LAYER
    config = build_config(platform, [Digest.of(t) for t in tars], cmd=cmd)
    manifest = build_manifest(
        Descriptor.of(media.OCI_CONFIG, config), [Descriptor.of(layer_type, b) for b in blobs]
    )
    return Image(parse_manifest(manifest, media_type=media.OCI_MANIFEST), parse_config(config), blobs)
