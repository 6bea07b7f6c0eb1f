"""Push images: blobs first (existing ones skipped, mounted when possible), then exact manifest bytes.

A tag is written last, only after everything it names is in the registry, so a push that fails
half-way leaves no tag pointing at a half-written image.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imagegolf.digest import Digest
from imagegolf.errors import BadInputError, UsageError
from imagegolf.oci import media
from imagegolf.oci.image import Image
from imagegolf.oci.manifest import parse_index

if TYPE_CHECKING:
    from imagegolf.registry.client import RegistryClient


@dataclass(frozen=True)
class PushResult:
    """What a push did. ``digest`` is what ``reference`` names: the index's when there is one."""

    digest: Digest
    reference: str
    bytes_sent: int  # request bodies: uploaded blobs, manifests, index
    pull_bytes: int  # what a pull of this reference fetches (facts.md §4)
    blobs_uploaded: int
    blobs_skipped: int  # already in the repository
    blobs_mounted: int = 0  # linked from the mount_from repository without an upload


@dataclass
class _Tally:
    bytes_sent: int = 0
    uploaded: int = 0
    skipped: int = 0
    mounted: int = 0


def push_image(
    client: RegistryClient, repository: str, image: Image, tag: str | None, *, mount_from: str | None = None
) -> PushResult:
    if image.index is not None:
        return push_images(client, repository, [image], tag, mount_from=mount_from)
    tally = _Tally()
    _push_one(client, repository, image, tally, mount_from, reference=tag)
    pull_bytes = len(image.manifest_bytes) + sum(len(blob) for blob in _blobs(image).values())
    return _result(client, repository, tag, image.manifest_digest, tally, pull_bytes)


def push_images(
    client: RegistryClient,
    repository: str,
    images: Sequence[Image],
    tag: str | None,
    *,
    mount_from: str | None = None,
) -> PushResult:
    """Images that share one index: each by digest, then the index bytes under ``tag``."""
    indexes = {image.index for image in images}
    if len(indexes) != 1 or None in indexes:
        raise UsageError("push_images needs images that all came from one image index")
    raw_index = images[0].index
    assert raw_index is not None
    index = parse_index(raw_index, caps=client.caps)
    tally = _Tally()
    for image in images:
        _push_one(client, repository, image, tally, mount_from, reference=None)
    pushed = {image.manifest_digest for image in images}
    for entry in index.manifests:
        if entry.digest not in pushed and client.head_manifest(repository, str(entry.digest)) is None:
            raise UsageError(
                f"the index names {entry.digest} ({entry.platform or 'no platform'}), which is neither given "
                f"nor in {repository}",
                hint="push every platform image of the index together (push_images)",
            )
    index_type = index_media_type(raw_index)
    client.progress(f"putting index {Digest.of(raw_index)} ({len(raw_index)} bytes) as {tag or 'its digest'}")
    digest = client.put_manifest(repository, tag or str(Digest.of(raw_index)), raw_index, index_type)
    tally.bytes_sent += len(raw_index)
    image = images[0]
    pull_bytes = len(raw_index) + len(image.manifest_bytes) + sum(len(b) for b in _blobs(image).values())
    return _result(client, repository, tag, digest, tally, pull_bytes)


def index_media_type(raw: bytes) -> str:
    """The index's own mediaType field, else OCI's (a manifest list always carries its type)."""
    try:
        declared = json.loads(raw.decode("utf-8")).get("mediaType")
    except (UnicodeDecodeError, ValueError, AttributeError):
        raise BadInputError("the image index is not a JSON object") from None
    return declared if isinstance(declared, str) and declared else media.OCI_INDEX


def _push_one(
    client: RegistryClient,
    repository: str,
    image: Image,
    tally: _Tally,
    mount_from: str | None,
    *,
    reference: str | None,
) -> None:
    for digest, blob in _blobs(image).items():
        _push_blob(client, repository, digest, blob, tally, mount_from)
    raw = image.manifest_bytes
    target = reference or str(image.manifest_digest)
    client.progress(f"putting manifest {image.manifest_digest} ({len(raw)} bytes) as {target}")
    client.put_manifest(repository, target, raw, image.manifest.media_type)
    tally.bytes_sent += len(raw)


def _push_blob(
    client: RegistryClient,
    repository: str,
    digest: Digest,
    blob: bytes,
    tally: _Tally,
    mount_from: str | None,
) -> None:
    if client.head_blob(repository, digest) is not None:
        tally.skipped += 1
        client.progress(f"blob {digest} is already in {repository}")
    elif mount_from and mount_from != repository and client.mount_blob(repository, digest, mount_from):
        tally.mounted += 1
        client.progress(f"blob {digest} mounted from {mount_from}")
    else:
        uploaded = client.upload_blob(repository, blob)
        if uploaded != digest:
            raise BadInputError(f"blob {digest} hashes to {uploaded}: the image value is inconsistent")
        tally.uploaded += 1
        tally.bytes_sent += len(blob)
        client.progress(f"blob {digest} uploaded ({len(blob)} bytes)")


def _blobs(image: Image) -> dict[Digest, bytes]:
    """Config and layers by digest, config first (a digest listed twice is pushed once)."""
    blobs = {image.config.digest: image.config_bytes}
    for layer in image.layers:
        blobs.setdefault(Digest.of(layer), layer)
    return blobs


def _result(
    client: RegistryClient, repository: str, tag: str | None, digest: Digest, tally: _Tally, pull_bytes: int
) -> PushResult:
    name = f"{client.registry}/{repository}"
    reference = f"{name}:{tag}@{digest}" if tag else f"{name}@{digest}"
    return PushResult(
        digest, reference, tally.bytes_sent, pull_bytes, tally.uploaded, tally.skipped, tally.mounted
    )
