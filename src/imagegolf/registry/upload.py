"""Blob uploads (distribution-spec "pushing blobs"): monolithic, chunked, and cross-repository mounts.

Each function is one attempt; blobs.py retries the whole upload (a new POST) on a transient
failure, since a half-sent PATCH leaves the old upload at an unknown offset.
"""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

from imagegolf.digest import Digest
from imagegolf.errors import DigestMismatchError, UsageError
from imagegolf.registry.errors import RegistryProtocolError
from imagegolf.registry.http import Response
from imagegolf.registry.protocol import pull_scope, push_scope
from imagegolf.registry.retry import Transient
from imagegolf.registry.session import RegistrySession

OCTETS = {"Content-Type": "application/octet-stream"}


def upload_once(session: RegistrySession, repository: str, data: bytes, chunk_size: int | None) -> Digest:
    if chunk_size is not None and chunk_size <= 0:
        raise UsageError(f"chunk size must be positive, not {chunk_size}")
    digest = Digest.of(data)
    scopes = push_scope(repository)
    started = session.request("POST", f"/v2/{repository}/blobs/uploads/", scopes=scopes)
    session.expect(started, {202}, f"start a blob upload to {repository}")
    location = upload_location(session, started)
    if chunk_size is not None:
        for start in range(0, len(data), chunk_size):
            chunk = data[start : start + chunk_size]
            headers = {**OCTETS, "Content-Range": f"{start}-{start + len(chunk) - 1}"}
            sent = session.request("PATCH", location, scopes=scopes, headers=headers, data=chunk)
            session.expect(sent, {202}, f"upload bytes {start}… of blob {digest.short}")
            _check_range(session, sent, start + len(chunk))
            location = upload_location(session, sent)
        body = b""
    else:
        body = data
    done = session.request(
        "PUT", location, scopes=scopes, headers=OCTETS, params=[("digest", str(digest))], data=body
    )
    session.expect(done, {201}, f"finish the upload of blob {digest.short}")
    stored = done.headers.get("Docker-Content-Digest")
    if stored and stored != str(digest):
        raise DigestMismatchError(f"the registry stored blob {digest} as {stored}")
    return digest


def mount_once(session: RegistrySession, repository: str, digest: Digest, from_repository: str) -> bool:
    scopes = push_scope(repository) + pull_scope(from_repository)
    response = session.request(
        "POST",
        f"/v2/{repository}/blobs/uploads/",
        scopes=scopes,
        params=[("mount", str(digest)), ("from", from_repository)],
    )
    if response.status == 201:
        response.close()
        return True
    session.expect(response, {202}, f"mount blob {digest.short} from {from_repository}")
    # The registry opened an ordinary upload instead: cancel it (best effort).
    with contextlib.suppress(Transient, RegistryProtocolError):
        session.request("DELETE", upload_location(session, response), scopes=scopes).close()
    return False


def upload_location(session: RegistrySession, response: Response) -> str:
    """The absolute upload URL from a Location header, which must stay on the registry's host."""
    location = response.headers.get("Location")
    if not location:
        raise RegistryProtocolError(f"registry {session.registry} answered an upload without a Location")
    url = session.transport.url(location)
    if urlsplit(url).netloc != urlsplit(session.transport.base_url).netloc:
        raise RegistryProtocolError(
            f"registry {session.registry} sent the upload to another host ({urlsplit(url).netloc})",
            hint="imagegolf does not send credentials or blobs to a host other than the registry",
        )
    return url


def _check_range(session: RegistrySession, response: Response, received: int) -> None:
    value = response.headers.get("Range", "")
    if value and value != f"0-{received - 1}":
        raise RegistryProtocolError(
            f"registry {session.registry} holds bytes {value} of the upload, not 0-{received - 1}"
        )
