"""Build images from files: value in, exact bytes out, the same bytes every time."""

from __future__ import annotations

from collections.abc import Sequence

from imagegolf.digest import Digest
from imagegolf.oci import media
from imagegolf.oci.config import build_config, parse_config
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.gzip import gzip_bytes
from imagegolf.oci.image import Image
from imagegolf.oci.manifest import build_manifest, parse_manifest
from imagegolf.oci.tar_entry import TarEntry
from imagegolf.oci.tar_write import write_tar
from imagegolf.platform import Platform

RECORD_NAME = "a"  # the shortest file name: one byte in the tar header, "/a" in Cmd
RECORD_MODE = 0o111
READABLE_RECORD_MODE = 0o555
NATIVE_ON_X86 = frozenset({"386", "amd64"})


def build_image(
    files: Sequence[TarEntry],
    platform: Platform,
    *,
    cmd: Sequence[str] | None = None,
    entrypoint: Sequence[str] | None = None,
    compact_tar: bool = True,
    compress: bool = True,
    manifest_media_type_field: bool = False,
) -> Image:
    """A one-layer image holding ``files`` that runs ``entrypoint`` + ``cmd`` on ``platform``."""
    tar = write_tar(files, compact=compact_tar)
    # A gzip layer is smaller than the tar it holds (512-byte headers are mostly zeros).
    layer = gzip_bytes(tar) if compress else tar
    layer_type = media.OCI_LAYER_GZIP if compress else media.OCI_LAYER
    config = build_config(platform, [Digest.of(tar)], cmd=cmd, entrypoint=entrypoint)
    manifest = build_manifest(
        Descriptor.of(media.OCI_CONFIG, config),
        [Descriptor.of(layer_type, layer)],
        media_type_field=manifest_media_type_field,
    )
    return Image(parse_manifest(manifest, media_type=media.OCI_MANIFEST), parse_config(config), (layer,))


def build_record_image(program: bytes, platform: Platform, *, args: Sequence[str] = ()) -> Image:
    """The record shape: one executable file ``/a`` in one compact gzip layer, ``Cmd ["/a", *args]``."""
    # Mode 0o111 (execute-only, every class): execve needs only the x bit of the caller's class,
    # not read, since the kernel maps the ELF itself; it runs as root and as any other user. Its
    # octal digits also repeat the size field's of a 73-byte file, so deflate matches them.
    entry = TarEntry.file(RECORD_NAME, program, record_mode(platform))
    return build_image([entry], platform, cmd=["/" + RECORD_NAME, *args])


def record_mode(platform: Platform) -> int:
    """0o111 where the kernel maps the ELF itself; 0o555 where it may run under qemu-user.

    binfmt_misc hands a foreign-arch file to its interpreter by path (no ``O`` flag), and
    qemu-user then open()s it as the container user: that needs the read bit too.
    """
    return RECORD_MODE if platform.architecture in NATIVE_ON_X86 else READABLE_RECORD_MODE
