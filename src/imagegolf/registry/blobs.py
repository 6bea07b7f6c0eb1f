"""Blobs (distribution-spec "pulling blobs", "pushing blobs"): HEAD, GET, uploads and mounts.

Every blob fetched is verified (sha256, and length when a descriptor gave one) and capped while
it streams. An upload or a mount is retried as a whole (upload.py has the single attempts).
"""

from __future__ import annotations

from imagegolf.digest import Digest
from imagegolf.registry import upload
from imagegolf.registry.body import read_capped, read_verified
from imagegolf.registry.protocol import check_repository, pull_scope
from imagegolf.registry.session import RegistrySession


def head_blob(session: RegistrySession, repository: str, digest: Digest) -> int | None:
    """The blob's size, or None when the repository does not hold it."""
    path = f"/v2/{check_repository(repository)}/blobs/{digest}"

    def head() -> int | None:
        response = session.request("HEAD", path, scopes=pull_scope(repository))
        if response.status == 404:
            response.close()
            return None
        session.expect(response, {200}, f"find blob {digest.short} in {repository}")
        length = response.headers.get("Content-Length", "")
        return int(length) if length.isdigit() else 0

    return session.retrying(f"find blob {digest.short}", head)


def get_blob(
    session: RegistrySession,
    repository: str,
    digest: Digest,
    size: int | None = None,
    *,
    cap: int | None = None,
) -> bytes:
    """The blob's bytes, verified (sha256, and length when ``size`` is given), capped while streaming."""
    limit = session.caps.compressed_bytes if cap is None else cap
    path = f"/v2/{check_repository(repository)}/blobs/{digest}"

    def fetch() -> bytes:
        response = session.request("GET", path, scopes=pull_scope(repository))
        session.expect(response, {200}, f"get blob {digest} from {repository}", keep=True)
        if size is not None:
            return read_verified(response, digest, size, "blob")
        data = read_capped(response, limit, f"blob {digest}")
        digest.verify(data, what="blob")
        return data

    return session.retrying(f"get blob {digest.short}", fetch)


def upload_blob(
    session: RegistrySession, repository: str, data: bytes, *, chunk_size: int | None = None
) -> Digest:
    """Upload a blob: one POST + PUT, or POST → PATCH (``chunk_size`` bytes each) … → PUT."""
    check_repository(repository)
    return session.retrying(
        "upload a blob", lambda: upload.upload_once(session, repository, data, chunk_size)
    )


def mount_blob(session: RegistrySession, repository: str, digest: Digest, from_repository: str) -> bool:
    """Cross-repository mount: True if the registry linked the blob without an upload."""
    check_repository(repository)
    check_repository(from_repository)
    return session.retrying(
        "mount a blob", lambda: upload.mount_once(session, repository, digest, from_repository)
    )
