"""Assemble an image from an OCI layout's parts: index.json plus a function that returns blobs.

Pure: the adapters pass the bytes (or a function returning them); every blob is verified here.
"""

from __future__ import annotations

from collections.abc import Callable

from imagegolf.errors import BadInputError
from imagegolf.oci import media
from imagegolf.oci.config import parse_config
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.image import Image
from imagegolf.oci.limits import DEFAULT_CAPS, Caps, check_cap
from imagegolf.oci.manifest import choose_manifest, parse_index, parse_manifest
from imagegolf.oci.validate import validate_image, verify_blob
from imagegolf.platform import ANY, Wanted

BlobGetter = Callable[[Descriptor], bytes]
_MAX_INDEX_DEPTH = 3


def image_from_index(
    index_json: bytes,
    get_blob: BlobGetter,
    *,
    wanted: Wanted = ANY,
    caps: Caps = DEFAULT_CAPS,
) -> Image:
    """Follow an OCI layout's index.json (through nested indexes) to one verified image.

    An index's entry is chosen as Docker would for ``wanted.platforms`` (in order of preference);
    the image records why. Platforms that were asked for must be the image's even when no index
    offered a choice.
    """
    platforms = wanted.platforms
    choice = choose_manifest(parse_index(index_json, caps=caps), platforms)
    chosen = choice.why if choice.made else None
    index_blob: bytes | None = None
    for _ in range(_MAX_INDEX_DEPTH):
        if choice.descriptor.media_type not in media.INDEXES:
            break
        index_blob = verified_blob(get_blob, choice.descriptor, "image index", caps.index_bytes)
        choice = choose_manifest(
            parse_index(index_blob, media_type=choice.descriptor.media_type, caps=caps), platforms
        )
        chosen = choice.why if choice.made else chosen
    else:
        raise BadInputError(f"image indexes nest more than {_MAX_INDEX_DEPTH} deep")
    descriptor = choice.descriptor
    raw_manifest = verified_blob(get_blob, descriptor, "manifest", caps.manifest_bytes)
    manifest = parse_manifest(raw_manifest, media_type=descriptor.media_type, caps=caps)
    config = parse_config(verified_blob(get_blob, manifest.config, "config", caps.config_bytes), caps=caps)
    layers = tuple(
        verified_blob(get_blob, layer, f"layer {number}", caps.compressed_bytes)
        for number, layer in enumerate(manifest.layers, start=1)
    )
    image = Image(manifest, config, layers, index=index_blob, chosen=chosen)
    validate_image(image, platforms=wanted.required, caps=caps)
    return image


def verified_blob(get_blob: BlobGetter, descriptor: Descriptor, what: str, cap: int) -> bytes:
    check_cap(descriptor.size, cap, f"the declared size of the {what}")
    data = get_blob(descriptor)
    verify_blob(descriptor, data, what=what)
    return data
