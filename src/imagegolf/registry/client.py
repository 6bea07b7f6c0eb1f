"""The distribution API (OCI distribution-spec v1.0) for one registry: manifests, blobs, tags, images.

:class:`RegistryClient` is the public face: it holds one :class:`~imagegolf.registry.session.RegistrySession`
and hands it to the modules that do the work (manifests, blobs, tags, push, pull), which never
call back into the client. Every byte fetched is verified against its digest and length, and
capped while it streams; manifests travel as the exact bytes given and received.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from imagegolf.digest import Digest
from imagegolf.oci.image import Image
from imagegolf.oci.limits import Caps
from imagegolf.platform import ANY, Wanted
from imagegolf.ref import Reference
from imagegolf.registry import blobs, manifests, pull, push, tags
from imagegolf.registry.auth import Authenticator
from imagegolf.registry.protocol import NotModified, check_repository
from imagegolf.registry.session import Progress, RegistrySession
from imagegolf.registry.transport import Transport

T = TypeVar("T")


class RegistryClient:
    """A client for one registry. Use :func:`imagegolf.registry.open_registry` to make one."""

    def __init__(self, session: RegistrySession) -> None:
        self.session = session

    @property
    def registry(self) -> str:
        return self.session.registry

    @property
    def transport(self) -> Transport:
        return self.session.transport

    @property
    def auth(self) -> Authenticator:
        return self.session.auth

    @property
    def caps(self) -> Caps:
        return self.session.caps

    @property
    def progress(self) -> Progress:
        return self.session.progress

    def __repr__(self) -> str:
        return f"RegistryClient({self.registry!r}, credentials from {self.auth.credentials.source})"

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    # -- the distribution API ------------------------------------------------------------------

    def ping(self) -> None:
        """GET /v2/: the registry speaks the API and accepts our credentials (if it asks)."""
        session, what = self.session, "answer /v2/"
        session.retrying(what, lambda: session.expect(session.request("GET", "/v2/", scopes=()), {200}, what))

    def get_manifest(self, repository: str, reference: str, *, size: int | None = None) -> tuple[bytes, str]:
        """The exact manifest (or index) bytes and their media type; by digest they are verified."""
        return manifests.get_manifest(self.session, repository, reference, size=size)

    def head_manifest(self, repository: str, reference: str) -> tuple[Digest, str, int] | None:
        """``(digest, media type, size)`` of a manifest, or None when it does not exist."""
        return manifests.head_manifest(self.session, repository, reference)

    def head_manifest_if_changed(
        self, repository: str, reference: str, known: Digest | None
    ) -> tuple[Digest, str, int] | NotModified | None:
        """:meth:`head_manifest`, sending ``If-None-Match: "<known>"`` when ``known`` is given;
        ``NOT_MODIFIED`` when the registry answers 304 (manifests.py says more)."""
        return manifests.head_manifest_if_changed(self.session, repository, reference, known)

    def resolve(self, ref: Reference) -> tuple[Digest, str]:
        """The digest and media type a tag (or digest) names now (HEAD, or GET if HEAD says too little)."""
        return manifests.resolve(self.session, ref)

    def put_manifest(self, repository: str, reference: str, raw: bytes, media_type: str) -> Digest:
        """PUT these exact bytes; the registry must name them by their own sha256."""
        return manifests.put_manifest(self.session, repository, reference, raw, media_type)

    def head_blob(self, repository: str, digest: Digest) -> int | None:
        """The blob's size, or None when the repository does not hold it."""
        return blobs.head_blob(self.session, repository, digest)

    def get_blob(
        self, repository: str, digest: Digest, size: int | None = None, *, cap: int | None = None
    ) -> bytes:
        """The blob's bytes, verified (sha256, and length when ``size`` is given), capped while streaming."""
        return blobs.get_blob(self.session, repository, digest, size, cap=cap)

    def upload_blob(self, repository: str, data: bytes, *, chunk_size: int | None = None) -> Digest:
        """Upload a blob: one POST + PUT, or POST → PATCH (``chunk_size`` bytes each) … → PUT."""
        return blobs.upload_blob(self.session, repository, data, chunk_size=chunk_size)

    def mount_blob(self, repository: str, digest: Digest, from_repository: str) -> bool:
        """Cross-repository mount: True if the registry linked the blob without an upload."""
        return blobs.mount_blob(self.session, repository, digest, from_repository)

    def list_tags(self, repository: str, *, page_size: int | None = None) -> list[str]:
        """All tags, following ``Link: <…>; rel="next"`` pages; an unknown repository has none."""
        return tags.list_tags(self.session, check_repository(repository), page_size)

    # -- images --------------------------------------------------------------------------------

    def push_image(
        self, repository: str, image: Image, tag: str | None, *, mount_from: str | None = None
    ) -> push.PushResult:
        """Blobs (existing ones skipped, mounted from ``mount_from`` when possible), then the manifest's
        exact bytes, then the index's when ``image.index`` is set; ``tag`` names the last."""
        return push.push_image(self.session, repository, image, tag, mount_from=mount_from)

    def push_images(
        self, repository: str, images: Sequence[Image], tag: str | None, *, mount_from: str | None = None
    ) -> push.PushResult:
        """Several platform images of one index: each image by digest, then the index under ``tag``."""
        return push.push_images(self.session, repository, images, tag, mount_from=mount_from)

    def pull_image(self, ref: Reference, wanted: Wanted = ANY) -> Image:
        """The image ``ref`` names (the tag resolved once), every byte verified, caps enforced;
        of an index, the entry for ``wanted`` (as ``docker pull`` would choose it)."""
        return pull.pull_image(self.session, ref, wanted)

    def pull_index(self, ref: Reference) -> tuple[tuple[Image, ...], dict[Digest, bytes]]:
        """Every image of the index ``ref`` names, with the index and the blobs it also references."""
        return pull.pull_index(self.session, ref)

    # -- plumbing (the session's, for callers that compose their own requests) -----------------

    def retrying(self, what: str, operation: Callable[[], T]) -> T:
        return self.session.retrying(what, operation)
