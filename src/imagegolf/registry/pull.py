"""Pull one platform image: the tag resolved once, every byte verified and capped while streaming."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagegolf.digest import Digest
from imagegolf.errors import BadInputError
from imagegolf.oci import media
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.image import Image
from imagegolf.oci.manifest import build_index
from imagegolf.oci.resolve import image_from_index
from imagegolf.platform import Platform
from imagegolf.ref import Reference

if TYPE_CHECKING:
    from imagegolf.registry.client import RegistryClient


def pull_image(client: RegistryClient, ref: Reference, platform: Platform | None) -> Image:
    """GET the manifest (or index) by tag or digest once, then everything else by digest.

    The top object is fetched once and named by the sha256 of the bytes received, so the tag
    cannot move between resolving and fetching (attacks.md §Registry 1). The rest goes through
    :func:`imagegolf.oci.image_from_index`, the path every backend shares: platform choice,
    declared-size caps, digest and length checks, and :func:`validate_image`.
    """
    repository = ref.repository
    reference = str(ref.digest) if ref.digest else (ref.tag or "latest")
    raw, media_type = client.get_manifest(repository, reference)
    if media_type not in media.MANIFESTS | media.INDEXES:
        raise BadInputError(
            f"{ref} is {media_type or 'of no media type'}, not an image manifest or index",
            hint="imagegolf reads OCI and Docker schema 2 images",
        )
    top = Descriptor(media_type, Digest.of(raw), len(raw))
    client.progress(f"{ref} is {top.digest} ({media_type}, {len(raw)} bytes)")
    fetched = {top.digest: raw}

    def get(descriptor: Descriptor) -> bytes:
        if descriptor.digest in fetched:
            return fetched[descriptor.digest]
        if descriptor.media_type in media.MANIFESTS | media.INDEXES:
            data, _type = client.get_manifest(repository, str(descriptor.digest), size=descriptor.size)
        else:
            data = client.get_blob(repository, descriptor.digest, descriptor.size)
        client.progress(f"fetched {descriptor.digest} ({len(data)} bytes)")
        fetched[descriptor.digest] = data
        return data

    # A one-entry index over the top object lets the shared resolver walk it; an index fetched on
    # the way becomes Image.index (it counts in pull bytes).
    return image_from_index(build_index([top]), get, platform=platform, caps=client.caps)
