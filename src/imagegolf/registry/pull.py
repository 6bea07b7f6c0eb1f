"""Pull one platform image: the tag resolved once, every byte verified and capped while streaming."""

from __future__ import annotations

import dataclasses

from imagegolf.digest import Digest
from imagegolf.errors import BadInputError
from imagegolf.oci import media
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.image import Image
from imagegolf.oci.manifest import build_index, is_attestation, parse_index, referenced
from imagegolf.oci.resolve import BlobGetter, image_from_index, verified_blob
from imagegolf.platform import Wanted
from imagegolf.ref import Reference
from imagegolf.registry.blobs import get_blob
from imagegolf.registry.errors import NotAnIndex
from imagegolf.registry.manifests import get_manifest
from imagegolf.registry.session import RegistrySession


def _getter(session: RegistrySession, repository: str, fetched: dict[Digest, bytes]) -> BlobGetter:
    """Fetch a descriptor's bytes by digest (manifests and indexes as manifests), once each."""

    def get(descriptor: Descriptor) -> bytes:
        if descriptor.digest in fetched:
            return fetched[descriptor.digest]
        if descriptor.media_type in media.MANIFESTS | media.INDEXES:
            data, _type = get_manifest(session, repository, str(descriptor.digest), size=descriptor.size)
        else:
            data = get_blob(session, repository, descriptor.digest, descriptor.size)
        session.progress(f"fetched {descriptor.digest} ({len(data)} bytes)")
        fetched[descriptor.digest] = data
        return data

    return get


def pull_index(session: RegistrySession, ref: Reference) -> tuple[tuple[Image, ...], dict[Digest, bytes]]:
    """Every image of the index ``ref`` names, each carrying the index's exact bytes, and the
    other blobs it references (attestation manifests, their configs and layers), all verified:
    written together they keep the whole index, digest unchanged."""
    reference = str(ref.digest) if ref.digest else (ref.tag or "latest")
    raw, media_type = get_manifest(session, ref.repository, reference)
    if media_type not in media.INDEXES:
        raise NotAnIndex(f"{ref} is one image, not an index", hint="pull one platform of it")
    caps = session.caps
    get = _getter(session, ref.repository, {})
    images: list[Image] = []
    extra: dict[Digest, bytes] = {}
    for entry in parse_index(raw, media_type=media_type, caps=caps).manifests:
        if entry.media_type in media.INDEXES:
            raise BadInputError(
                f"{ref} nests an index in its index; a whole index is copied one level deep only"
            )
        if entry.media_type in media.MANIFESTS and not is_attestation(entry):
            image = image_from_index(build_index([entry]), get, caps=caps)
            images.append(dataclasses.replace(image, index=raw))
            continue
        manifest = verified_blob(get, entry, "manifest", caps.manifest_bytes)
        extra[entry.digest] = manifest
        for blob in referenced(manifest):  # an attestation's config and layers
            extra[blob.digest] = verified_blob(get, blob, "blob", caps.compressed_bytes)
    if not images:
        raise BadInputError(f"the index {ref} holds no image")
    return tuple(images), extra


def pull_image(session: RegistrySession, ref: Reference, wanted: Wanted) -> Image:
    """GET the manifest (or index) by tag or digest once, then everything else by digest.

    The top object is fetched once and named by the sha256 of the bytes received, so the tag
    cannot move between resolving and fetching (docs/judge.md #1). The rest goes through
    :func:`imagegolf.oci.image_from_index`, the path every backend shares: platform choice,
    declared-size caps, digest and length checks, and :func:`validate_image`.
    """
    repository = ref.repository
    reference = str(ref.digest) if ref.digest else (ref.tag or "latest")
    raw, media_type = get_manifest(session, repository, reference)
    if media_type not in media.MANIFESTS | media.INDEXES:
        raise BadInputError(
            f"{ref} is {media_type or 'of no media type'}, not an image manifest or index",
            hint="imagegolf reads OCI and Docker schema 2 images",
        )
    top = Descriptor(media_type, Digest.of(raw), len(raw))
    session.progress(f"{ref} is {top.digest} ({media_type}, {len(raw)} bytes)")
    get = _getter(session, repository, {top.digest: raw})

    # A one-entry index over the top object lets the shared resolver walk it; an index fetched on
    # the way becomes Image.index (it counts in pull bytes).
    return image_from_index(build_index([top]), get, wanted=wanted, caps=session.caps)
