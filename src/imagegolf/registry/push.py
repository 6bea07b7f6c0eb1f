"""Push images: blobs first (existing ones skipped, mounted when possible), then exact manifest bytes.

A tag is written last, only after everything it names is in the registry, so a push that fails
half-way leaves no tag pointing at a half-written image.
"""

from __future__ import annotations

import enum
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from imagegolf.digest import Digest
from imagegolf.errors import BadInputError, UsageError
from imagegolf.oci import media
from imagegolf.oci.image import Image
from imagegolf.oci.manifest import parse_index
from imagegolf.registry.blobs import head_blob, mount_blob, upload_blob
from imagegolf.registry.manifests import head_manifest, put_manifest
from imagegolf.registry.session import RegistrySession


@dataclass(frozen=True)
class PushResult:
    """What a push did. ``digest`` is what ``reference`` names: the index's when there is one."""

    digest: Digest
    reference: str
    bytes_sent: int  # request bodies: uploaded blobs, manifests, index
    pull_bytes: int  # what a pull of this reference fetches (docs/oci.md)
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
    session: RegistrySession, repository: str, image: Image, tag: str | None, *, mount_from: str | None = None
) -> PushResult:
    if image.index is not None:
        return push_images(session, repository, [image], tag, mount_from=mount_from)
    tally = _Tally()
    _push_one(session, repository, image, tally, mount_from, reference=tag)
    pull_bytes = len(image.manifest_bytes) + sum(len(blob) for blob in _blobs(image).values())
    return _result(session, repository, tag, image.manifest_digest, tally, pull_bytes)


def push_images(
    session: RegistrySession,
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
    index = parse_index(raw_index, caps=session.caps)
    tally = _Tally()
    for image in images:
        _push_one(session, repository, image, tally, mount_from, reference=None)
    pushed = {image.manifest_digest for image in images}
    for entry in index.manifests:
        if entry.digest not in pushed and head_manifest(session, repository, str(entry.digest)) is None:
            raise UsageError(
                f"the index names {entry.digest} ({entry.platform or 'no platform'}), which is neither given "
                f"nor in {repository}",
                hint="push every platform image of the index together (push_images)",
            )
    index_type = index_media_type(raw_index)
    session.progress(
        f"putting index {Digest.of(raw_index)} ({len(raw_index)} bytes) as {tag or 'its digest'}"
    )
    digest = put_manifest(session, repository, tag or str(Digest.of(raw_index)), raw_index, index_type)
    tally.bytes_sent += len(raw_index)
    image = images[0]
    pull_bytes = len(raw_index) + len(image.manifest_bytes) + sum(len(b) for b in _blobs(image).values())
    return _result(session, repository, tag, digest, tally, pull_bytes)


def index_media_type(raw: bytes) -> str:
    """The index's own mediaType field, else OCI's (a manifest list always carries its type)."""
    try:
        declared = json.loads(raw.decode("utf-8")).get("mediaType")
    except (UnicodeDecodeError, ValueError, AttributeError):
        raise BadInputError("the image index is not a JSON object") from None
    return declared if isinstance(declared, str) and declared else media.OCI_INDEX


def _push_one(
    session: RegistrySession,
    repository: str,
    image: Image,
    tally: _Tally,
    mount_from: str | None,
    *,
    reference: str | None,
) -> None:
    blobs = _blobs(image)
    for digest, outcome in _push_blobs(session, repository, blobs, mount_from).items():
        if outcome is _Outcome.UPLOADED:
            tally.uploaded += 1
            tally.bytes_sent += len(blobs[digest])
        elif outcome is _Outcome.MOUNTED:
            tally.mounted += 1
        else:
            tally.skipped += 1
    raw = image.manifest_bytes
    target = reference or str(image.manifest_digest)
    session.progress(f"putting manifest {image.manifest_digest} ({len(raw)} bytes) as {target}")
    put_manifest(session, repository, target, raw, image.manifest.media_type)
    tally.bytes_sent += len(raw)


class _Outcome(enum.Enum):
    PRESENT = "already in the repository"
    MOUNTED = "mounted from another repository"
    UPLOADED = "uploaded"


# Blobs go up at once, as docker push (dockerd's max-concurrent-uploads, 5 by default) and
# containers/image do: each blob's round trips (HEAD, then POST and PUT) overlap the others'. The
# manifest follows only once every blob is in (the distribution spec: a manifest's blobs must exist).
UPLOADS_AT_ONCE = 5


def _push_blobs(
    session: RegistrySession,
    repository: str,
    blobs: dict[Digest, bytes],
    mount_from: str | None,
) -> dict[Digest, _Outcome]:
    """Every blob of ``blobs`` into ``repository``; the first failure is raised once all have
    stopped, and no blob is started after a failure."""
    if len(blobs) == 1:
        [(digest, blob)] = blobs.items()
        return {digest: _push_blob(session, repository, digest, blob, mount_from)}
    pending = list(blobs.items())
    outcomes: dict[Digest, _Outcome] = {}
    failures: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not pending or failures:
                    return
                digest, blob = pending.pop(0)
            try:
                outcome = _push_blob(session, repository, digest, blob, mount_from)
            except BaseException as error:  # re-raised in the caller's thread below
                with lock:
                    failures.append(error)
                return
            with lock:
                outcomes[digest] = outcome

    workers = [threading.Thread(target=work, daemon=True) for _ in range(min(UPLOADS_AT_ONCE, len(pending)))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        raise failures[0]
    return outcomes


def _push_blob(
    session: RegistrySession,
    repository: str,
    digest: Digest,
    blob: bytes,
    mount_from: str | None,
) -> _Outcome:
    if head_blob(session, repository, digest) is not None:
        session.progress(f"blob {digest} is already in {repository}")
        return _Outcome.PRESENT
    if mount_from and mount_from != repository and mount_blob(session, repository, digest, mount_from):
        session.progress(f"blob {digest} mounted from {mount_from}")
        return _Outcome.MOUNTED
    uploaded = upload_blob(session, repository, blob)
    if uploaded != digest:
        raise BadInputError(f"blob {digest} hashes to {uploaded}: the image value is inconsistent")
    session.progress(f"blob {digest} uploaded ({len(blob)} bytes)")
    return _Outcome.UPLOADED


def _blobs(image: Image) -> dict[Digest, bytes]:
    """Config and layers by digest, config first (a digest listed twice is pushed once)."""
    blobs = {image.config.digest: image.config_bytes}
    for layer in image.layers:
        blobs.setdefault(Digest.of(layer), layer)
    return blobs


def _result(
    session: RegistrySession, repository: str, tag: str | None, digest: Digest, tally: _Tally, pull_bytes: int
) -> PushResult:
    name = f"{session.registry}/{repository}"
    reference = f"{name}:{tag}@{digest}" if tag else f"{name}@{digest}"
    return PushResult(
        digest, reference, tally.bytes_sent, pull_bytes, tally.uploaded, tally.skipped, tally.mounted
    )
