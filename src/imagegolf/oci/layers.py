"""Layer blobs: decompress by media type (checked against the bytes), hash and list them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from imagegolf.digest import Digest
from imagegolf.errors import BadInputError
from imagegolf.oci import media
from imagegolf.oci.gzip import is_gzip, iter_gunzip
from imagegolf.oci.limits import DEFAULT_CAPS, Caps, check_cap
from imagegolf.oci.tar_entry import TarEntry
from imagegolf.oci.tar_read import read_tar


def iter_layer_tar(blob: bytes, media_type: str, *, caps: Caps = DEFAULT_CAPS) -> Iterator[bytes]:
    """The layer's tar stream in pieces; a gzip layer must say so and a plain one must not be gzip."""
    if media_type in media.LAYERS_GZIP:
        if not is_gzip(blob):
            raise BadInputError(f"a layer declared {media_type} is not gzip data")
        yield from iter_gunzip(blob, caps=caps)
    elif media_type in media.LAYERS_PLAIN:
        if is_gzip(blob):
            raise BadInputError(f"a layer declared {media_type} (uncompressed) holds gzip data")
        check_cap(len(blob), caps.decompressed_bytes, "the size of an uncompressed layer")
        yield blob
    elif media_type == media.OCI_LAYER_ZSTD:
        raise BadInputError("zstd layers are not supported", hint="use gzip or uncompressed layers")
    else:
        raise BadInputError(f"unknown layer media type {media_type!r}")


def layer_tar(blob: bytes, media_type: str, *, caps: Caps = DEFAULT_CAPS) -> bytes:
    return b"".join(iter_layer_tar(blob, media_type, caps=caps))


def diff_id_and_length(blob: bytes, media_type: str, *, caps: Caps = DEFAULT_CAPS) -> tuple[Digest, int]:
    """The sha256 of the decompressed layer (its diff_id) and that stream's length."""
    hasher = hashlib.sha256()
    length = 0
    for piece in iter_layer_tar(blob, media_type, caps=caps):
        hasher.update(piece)
        length += len(piece)
    return Digest(hasher.hexdigest()), length


def layer_entries(
    blob: bytes, media_type: str, *, caps: Caps = DEFAULT_CAPS, keep_data: bool = False
) -> list[TarEntry]:
    """The entries of one layer, read while streaming with every cap enforced."""
    return list(read_tar(iter_layer_tar(blob, media_type, caps=caps), caps=caps, keep_data=keep_data))
