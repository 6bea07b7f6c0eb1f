"""Several platform images under one OCI image index (what `--platform all` builds)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

from imagegolf.digest import Digest
from imagegolf.errors import UsageError
from imagegolf.oci import media
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.image import Image
from imagegolf.oci.manifest import build_index

ImageGroup = Image | Sequence[Image]


def with_shared_index(images: Sequence[Image]) -> tuple[Image, ...]:
    """The images, each carrying the bytes of the one index that lists them all by platform.

    Descriptors carry ``platform`` (os, architecture, variant), so engines pick their own.
    """
    if not images:
        raise UsageError("an image index needs at least one image")
    seen: set[str] = set()
    for image in images:
        if str(image.platform) in seen:
            raise UsageError(f"two images for {image.platform} in one index")
        seen.add(str(image.platform))
    descriptors = [
        dataclasses.replace(image.manifest_descriptor, platform=image.platform) for image in images
    ]
    raw = build_index(descriptors)
    return tuple(dataclasses.replace(image, index=raw) for image in images)


def as_group(images: ImageGroup) -> tuple[Image, ...]:
    return (images,) if isinstance(images, Image) else tuple(images)


def _with_index(images: ImageGroup) -> bool:
    """A sequence of images written with the index they share (even one image of an index,
    when the whole index is kept); a bare image is written alone."""
    return not isinstance(images, Image) and any(image.index is not None for image in images)


def top_descriptor(images: ImageGroup) -> Descriptor:
    """What a layout's index.json or a registry tag points at: the manifest, or the shared index."""
    group = as_group(images)
    if not _with_index(images):
        if len(group) != 1:
            raise UsageError("images written together must share one index (oci.with_shared_index)")
        return group[0].manifest_descriptor
    indexes = {image.index for image in group}
    if len(indexes) != 1 or None in indexes:
        raise UsageError("images written together must share one index (oci.with_shared_index)")
    raw = group[0].index
    assert raw is not None
    return Descriptor(index_media_type(raw), Digest.of(raw), len(raw))


def index_media_type(raw: bytes) -> str:
    """An index's own mediaType (a Docker manifest list says so), else the OCI index type."""
    try:
        declared = json.loads(raw).get("mediaType")
    except (ValueError, AttributeError):
        return media.OCI_INDEX
    return declared if declared in media.INDEXES else media.OCI_INDEX


def index_blob(images: ImageGroup) -> dict[Digest, bytes]:
    """The index blob a group of images adds to a layout (nothing for a bare image)."""
    group = as_group(images)
    if not _with_index(images) or group[0].index is None:
        return {}
    return {Digest.of(group[0].index): group[0].index}
