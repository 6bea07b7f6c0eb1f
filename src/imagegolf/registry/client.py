"""The distribution API (OCI distribution-spec v1.0) for one registry: manifests, blobs, tags.

Every byte fetched is verified against its digest and length, and capped while it streams.
Manifests travel as the exact bytes given and received: nothing here re-serialises one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import requests

from imagegolf.digest import Digest
from imagegolf.errors import DigestMismatchError, UsageError
from imagegolf.oci.image import Image
from imagegolf.oci.limits import DEFAULT_CAPS, Caps
from imagegolf.platform import ANY, Wanted
from imagegolf.ref import Reference
from imagegolf.registry import pull, push, tags, upload
from imagegolf.registry.auth import Authenticator
from imagegolf.registry.body import read_capped, read_verified
from imagegolf.registry.credentials import Credentials
from imagegolf.registry.errors import NotFound, RegistryProtocolError, RegistryRefused
from imagegolf.registry.protocol import (
    MANIFEST_ACCEPT,
    NOT_MODIFIED,
    NotModified,
    Scopes,
    check_reference,
    check_repository,
    content_type,
    if_none_match,
    pull_scope,
    push_scope,
    registry_error,
)
from imagegolf.registry.retry import run_with_retries
from imagegolf.registry.transport import Transport

T = TypeVar("T")
Progress = Callable[[str], None]


class RegistryClient:
    """A client for one registry. Use :func:`imagegolf.registry.open_registry` to make one."""

    def __init__(
        self,
        registry: str,
        transport: Transport,
        credentials: Credentials,
        *,
        caps: Caps = DEFAULT_CAPS,
        progress: Progress | None = None,
    ) -> None:
        self.registry = registry
        self.transport = transport
        self.auth = Authenticator(registry, credentials, transport)
        self.caps = caps
        self.progress: Progress = progress or (lambda _message: None)

    def __repr__(self) -> str:
        return f"RegistryClient({self.registry!r}, credentials from {self.auth.credentials.source})"

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    # -- the distribution API ------------------------------------------------------------------

    def ping(self) -> None:
        """GET /v2/: the registry speaks the API and accepts our credentials (if it asks)."""
        what = "answer /v2/"
        self.retrying(what, lambda: self.expect(self.request("GET", "/v2/", scopes=()), {200}, what))

    def get_manifest(self, repository: str, reference: str, *, size: int | None = None) -> tuple[bytes, str]:
        """The exact manifest (or index) bytes and their media type; by digest they are verified."""
        path = f"/v2/{check_repository(repository)}/manifests/{check_reference(reference)}"
        digest = Digest.parse(reference) if reference.startswith("sha256:") else None
        cap = max(self.caps.manifest_bytes, self.caps.index_bytes)
        what = (
            f"the manifest {repository}:{reference}" if digest is None else f"manifest {repository}@{digest}"
        )

        def fetch() -> tuple[bytes, str]:
            response = self.request(
                "GET", path, scopes=pull_scope(repository), headers={"Accept": MANIFEST_ACCEPT}
            )
            self.expect(response, {200}, f"get {what}", keep=True)
            media_type = content_type(response)
            header = response.headers.get("Docker-Content-Digest")
            if digest is not None and size is not None:
                raw = read_verified(response, digest, size, "manifest")
            else:
                raw = read_capped(response, cap, what)
            if digest is not None:
                digest.verify(raw, what="manifest")
            if header and header != str(Digest.of(raw)):
                raise DigestMismatchError(
                    f"{what} hashes to {Digest.of(raw)}, but the registry says {header}"
                )
            return raw, media_type

        return self.retrying(f"get {what}", fetch)

    def head_manifest(self, repository: str, reference: str) -> tuple[Digest, str, int] | None:
        """``(digest, media type, size)`` of a manifest, or None when it does not exist."""
        found = self.head_manifest_if_changed(repository, reference, None)
        if isinstance(found, NotModified):  # never: without a condition, expect() refuses a 304
            raise RegistryProtocolError(f"registry {self.registry} answered 304 to an unconditional HEAD")
        return found

    def head_manifest_if_changed(
        self, repository: str, reference: str, known: Digest | None
    ) -> tuple[Digest, str, int] | NotModified | None:
        """:meth:`head_manifest`, sending ``If-None-Match: "<known>"`` when ``known`` is given.

        ``NOT_MODIFIED`` when the registry answers 304: the reference still names ``known``
        (distribution 2.8 resolves the tag and compares the digest before it reads the manifest;
        its 304 carries no digest). A registry that ignores the header answers 200 as usual.
        """
        path = f"/v2/{check_repository(repository)}/manifests/{check_reference(reference)}"
        headers = {"Accept": MANIFEST_ACCEPT, **(if_none_match(known) if known is not None else {})}
        ok = {200, 304} if known is not None else {200}

        def head() -> tuple[Digest | None, str, int] | NotModified | None:
            response = self.request("HEAD", path, scopes=pull_scope(repository), headers=headers)
            if response.status_code in (200, 304, 404):
                # A HEAD has no body: reading it (b"") lets close() hand the connection back to the
                # pool; closing a streamed response unread closes its connection (a new TCP and TLS
                # handshake for every HEAD of a poll).
                _ = response.content
            if response.status_code == 404:
                response.close()
                return None
            self.expect(response, ok, f"find the manifest {repository}:{reference}")
            if response.status_code == 304:
                return NOT_MODIFIED
            header = response.headers.get("Docker-Content-Digest")
            length = response.headers.get("Content-Length", "")
            if header and length.isdigit():
                return Digest.parse(header), content_type(response), int(length)
            return None, "", 0  # HEAD said too little: GET it below

        found = self.retrying(f"find the manifest {repository}:{reference}", head)
        if found is None or isinstance(found, NotModified):
            return found
        digest, media_type, size = found
        if digest is None:
            raw, media_type = self.get_manifest(repository, reference)
            return Digest.of(raw), media_type, len(raw)
        return digest, media_type, size

    def resolve(self, ref: Reference) -> tuple[Digest, str]:
        """The digest and media type a tag (or digest) names now (HEAD, or GET if HEAD says too little)."""
        reference = str(ref.digest) if ref.digest else (ref.tag or "latest")
        found = self.head_manifest(ref.repository, reference)
        if found is None:
            raise NotFound(
                f"registry {self.registry} has no manifest {ref}", status=404, code="MANIFEST_UNKNOWN"
            )
        digest, media_type, _size = found
        if ref.digest is not None and digest != ref.digest:
            raise DigestMismatchError(f"the registry names {ref} as {digest}")
        return digest, media_type

    def put_manifest(self, repository: str, reference: str, raw: bytes, media_type: str) -> Digest:
        """PUT these exact bytes; the registry must name them by their own sha256."""
        path = f"/v2/{check_repository(repository)}/manifests/{check_reference(reference)}"
        digest = Digest.of(raw)
        if reference.startswith("sha256:") and Digest.parse(reference) != digest:
            raise UsageError(f"the manifest hashes to {digest}, not {reference}")

        def put() -> Digest:
            response = self.request(
                "PUT", path, scopes=push_scope(repository), headers={"Content-Type": media_type}, data=raw
            )
            self.expect(response, {201}, f"store the manifest {repository}:{reference}")
            header = response.headers.get("Docker-Content-Digest")
            if header and header != str(digest):
                raise DigestMismatchError(
                    f"the registry stored the manifest as {header}, not as its bytes' {digest}"
                )
            return digest

        return self.retrying(f"store the manifest {repository}:{reference}", put)

    def head_blob(self, repository: str, digest: Digest) -> int | None:
        """The blob's size, or None when the repository does not hold it."""
        path = f"/v2/{check_repository(repository)}/blobs/{digest}"

        def head() -> int | None:
            response = self.request("HEAD", path, scopes=pull_scope(repository))
            if response.status_code == 404:
                response.close()
                return None
            self.expect(response, {200}, f"find blob {digest.short} in {repository}")
            length = response.headers.get("Content-Length", "")
            return int(length) if length.isdigit() else 0

        return self.retrying(f"find blob {digest.short}", head)

    def get_blob(
        self, repository: str, digest: Digest, size: int | None = None, *, cap: int | None = None
    ) -> bytes:
        """The blob's bytes, verified (sha256, and length when ``size`` is given), capped while streaming."""
        limit = self.caps.compressed_bytes if cap is None else cap
        path = f"/v2/{check_repository(repository)}/blobs/{digest}"

        def fetch() -> bytes:
            response = self.request("GET", path, scopes=pull_scope(repository))
            self.expect(response, {200}, f"get blob {digest} from {repository}", keep=True)
            if size is not None:
                return read_verified(response, digest, size, "blob")
            data = read_capped(response, limit, f"blob {digest}")
            digest.verify(data, what="blob")
            return data

        return self.retrying(f"get blob {digest.short}", fetch)

    def upload_blob(self, repository: str, data: bytes, *, chunk_size: int | None = None) -> Digest:
        """Upload a blob: one POST + PUT, or POST → PATCH (``chunk_size`` bytes each) … → PUT."""
        check_repository(repository)
        return self.retrying("upload a blob", lambda: upload.upload_once(self, repository, data, chunk_size))

    def mount_blob(self, repository: str, digest: Digest, from_repository: str) -> bool:
        """Cross-repository mount: True if the registry linked the blob without an upload."""
        check_repository(repository)
        check_repository(from_repository)
        return self.retrying(
            "mount a blob", lambda: upload.mount_once(self, repository, digest, from_repository)
        )

    def list_tags(self, repository: str, *, page_size: int | None = None) -> list[str]:
        """All tags, following ``Link: <…>; rel="next"`` pages; an unknown repository has none."""
        return tags.list_tags(self, check_repository(repository), page_size)

    # -- images --------------------------------------------------------------------------------

    def push_image(
        self, repository: str, image: Image, tag: str | None, *, mount_from: str | None = None
    ) -> push.PushResult:
        """Blobs (existing ones skipped, mounted from ``mount_from`` when possible), then the manifest's
        exact bytes, then the index's when ``image.index`` is set; ``tag`` names the last."""
        return push.push_image(self, repository, image, tag, mount_from=mount_from)

    def push_images(
        self, repository: str, images: Sequence[Image], tag: str | None, *, mount_from: str | None = None
    ) -> push.PushResult:
        """Several platform images of one index: each image by digest, then the index under ``tag``."""
        return push.push_images(self, repository, images, tag, mount_from=mount_from)

    def pull_image(self, ref: Reference, wanted: Wanted = ANY) -> Image:
        """The image ``ref`` names (the tag resolved once), every byte verified, caps enforced;
        of an index, the entry for ``wanted`` (as ``docker pull`` would choose it)."""
        return pull.pull_image(self, ref, wanted)

    def pull_index(self, ref: Reference) -> tuple[tuple[Image, ...], dict[Digest, bytes]]:
        """Every image of the index ``ref`` names, with the index and the blobs it also references."""
        return pull.pull_index(self, ref)

    # -- plumbing ------------------------------------------------------------------------------

    def retrying(self, what: str, operation: Callable[[], T]) -> T:
        return run_with_retries(self.transport.retry, operation, registry=self.registry, what=what)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        scopes: Scopes,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | list[tuple[str, str]] | None = None,
        data: bytes | None = None,
    ) -> requests.Response:
        """One authenticated request (one retry after a 401 with fresh credentials); no other retry."""
        sent = self.auth.headers(scopes)
        response = self.transport.send_once(
            method, path_or_url, headers={**(headers or {}), **sent}, params=params, data=data
        )
        if response.status_code != 401:
            return response
        retry_headers = self.auth.on_unauthorized(response, scopes, sent)
        response.close()
        response = self.transport.send_once(
            method, path_or_url, headers={**(headers or {}), **retry_headers}, params=params, data=data
        )
        if response.status_code == 401:
            raise self.auth.rejected(response, registry_error(response)[1])
        return response

    def expect(self, response: requests.Response, ok: set[int], what: str, *, keep: bool = False) -> None:
        """Raise the registry's refusal unless the status is in ``ok``; close the body unless ``keep``."""
        if response.status_code in ok:
            if not keep:
                response.close()
            return
        code, detail = registry_error(response)
        if response.status_code == 404:
            raise NotFound(f"registry {self.registry} could not {what}: {detail}", status=404, code=code)
        message = f"registry {self.registry} refused to {what}: {detail}"
        if 400 <= response.status_code < 500:
            raise RegistryRefused(message, status=response.status_code, code=code)
        raise RegistryProtocolError(f"registry {self.registry} answered {response.status_code} to {what}")
