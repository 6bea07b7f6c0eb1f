"""Manifests (distribution-spec "pulling manifests", "pushing manifests"): GET, HEAD, PUT.

Every manifest fetched is verified against its digest (and length, when a descriptor gave one)
and capped while it streams; manifests travel as the exact bytes given and received: nothing here
re-serialises one.
"""

from __future__ import annotations

from imagegolf.digest import Digest
from imagegolf.errors import DigestMismatchError, UsageError
from imagegolf.ref import Reference
from imagegolf.registry.body import read_capped, read_verified
from imagegolf.registry.errors import NotFound, RegistryProtocolError
from imagegolf.registry.protocol import (
    MANIFEST_ACCEPT,
    NOT_MODIFIED,
    NotModified,
    check_reference,
    check_repository,
    content_type,
    if_none_match,
    pull_scope,
    push_scope,
)
from imagegolf.registry.session import RegistrySession


def get_manifest(
    session: RegistrySession, repository: str, reference: str, *, size: int | None = None
) -> tuple[bytes, str]:
    """The exact manifest (or index) bytes and their media type; by digest they are verified."""
    path = f"/v2/{check_repository(repository)}/manifests/{check_reference(reference)}"
    digest = Digest.parse(reference) if reference.startswith("sha256:") else None
    cap = max(session.caps.manifest_bytes, session.caps.index_bytes)
    what = f"the manifest {repository}:{reference}" if digest is None else f"manifest {repository}@{digest}"

    def fetch() -> tuple[bytes, str]:
        response = session.request(
            "GET", path, scopes=pull_scope(repository), headers={"Accept": MANIFEST_ACCEPT}
        )
        session.expect(response, {200}, f"get {what}", keep=True)
        media_type = content_type(response)
        header = response.headers.get("Docker-Content-Digest")
        if digest is not None and size is not None:
            raw = read_verified(response, digest, size, "manifest")
        else:
            raw = read_capped(response, cap, what)
        if digest is not None:
            digest.verify(raw, what="manifest")
        if header and header != str(Digest.of(raw)):
            raise DigestMismatchError(f"{what} hashes to {Digest.of(raw)}, but the registry says {header}")
        return raw, media_type

    return session.retrying(f"get {what}", fetch)


def head_manifest(
    session: RegistrySession, repository: str, reference: str
) -> tuple[Digest, str, int] | None:
    """``(digest, media type, size)`` of a manifest, or None when it does not exist."""
    found = head_manifest_if_changed(session, repository, reference, None)
    if isinstance(found, NotModified):  # never: without a condition, expect() refuses a 304
        raise RegistryProtocolError(f"registry {session.registry} answered 304 to an unconditional HEAD")
    return found


def head_manifest_if_changed(
    session: RegistrySession, repository: str, reference: str, known: Digest | None
) -> tuple[Digest, str, int] | NotModified | None:
    """:func:`head_manifest`, sending ``If-None-Match: "<known>"`` when ``known`` is given.

    ``NOT_MODIFIED`` when the registry answers 304: the reference still names ``known``
    (distribution 2.8 resolves the tag and compares the digest before it reads the manifest;
    its 304 carries no digest). A registry that ignores the header answers 200 as usual.
    """
    path = f"/v2/{check_repository(repository)}/manifests/{check_reference(reference)}"
    headers = {"Accept": MANIFEST_ACCEPT, **(if_none_match(known) if known is not None else {})}
    ok = {200, 304} if known is not None else {200}

    def head() -> tuple[Digest | None, str, int] | NotModified | None:
        response = session.request("HEAD", path, scopes=pull_scope(repository), headers=headers)
        # A HEAD has no body, so close() hands its connection back to the pool (registry/http.py):
        # no new TCP and TLS handshake for every HEAD of a poll.
        if response.status == 404:
            response.close()
            return None
        session.expect(response, ok, f"find the manifest {repository}:{reference}")
        if response.status == 304:
            return NOT_MODIFIED
        header = response.headers.get("Docker-Content-Digest")
        length = response.headers.get("Content-Length", "")
        if header and length.isdigit():
            return Digest.parse(header), content_type(response), int(length)
        return None, "", 0  # HEAD said too little: GET it below

    found = session.retrying(f"find the manifest {repository}:{reference}", head)
    if found is None or isinstance(found, NotModified):
        return found
    digest, media_type, size = found
    if digest is None:
        raw, media_type = get_manifest(session, repository, reference)
        return Digest.of(raw), media_type, len(raw)
    return digest, media_type, size


def resolve(session: RegistrySession, ref: Reference) -> tuple[Digest, str]:
    """The digest and media type a tag (or digest) names now (HEAD, or GET if HEAD says too little)."""
    reference = str(ref.digest) if ref.digest else (ref.tag or "latest")
    found = head_manifest(session, ref.repository, reference)
    if found is None:
        raise NotFound(
            f"registry {session.registry} has no manifest {ref}", status=404, code="MANIFEST_UNKNOWN"
        )
    digest, media_type, _size = found
    if ref.digest is not None and digest != ref.digest:
        raise DigestMismatchError(f"the registry names {ref} as {digest}")
    return digest, media_type


def put_manifest(
    session: RegistrySession, repository: str, reference: str, raw: bytes, media_type: str
) -> Digest:
    """PUT these exact bytes; the registry must name them by their own sha256."""
    path = f"/v2/{check_repository(repository)}/manifests/{check_reference(reference)}"
    digest = Digest.of(raw)
    if reference.startswith("sha256:") and Digest.parse(reference) != digest:
        raise UsageError(f"the manifest hashes to {digest}, not {reference}")

    def put() -> Digest:
        response = session.request(
            "PUT", path, scopes=push_scope(repository), headers={"Content-Type": media_type}, data=raw
        )
        session.expect(response, {201}, f"store the manifest {repository}:{reference}")
        header = response.headers.get("Docker-Content-Digest")
        if header and header != str(digest):
            raise DigestMismatchError(
                f"the registry stored the manifest as {header}, not as its bytes' {digest}"
            )
        return digest

    return session.retrying(f"store the manifest {repository}:{reference}", put)
