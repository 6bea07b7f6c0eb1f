"""Reading response bodies: capped while streaming, verified against digest and length, and
within the request's deadline (registry/transport.py: a body still arriving then is cut)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from imagegolf.digest import Digest
from imagegolf.errors import DigestMismatchError
from imagegolf.oci.limits import check_cap
from imagegolf.registry.http import Response
from imagegolf.registry.retry import Transient
from imagegolf.registry.transport import deadline_error, short_reason
from imagegolf.registry.wire import ProtocolError

CHUNK = 64 * 1024
ERROR_BODY_CAP = 64 * 1024


def iter_body(response: Response) -> Iterator[bytes]:
    """The body in chunks; a connection lost mid-body is :class:`Transient`, unless the request's
    deadline cut it (transport.Deadline): then RegistryDeadlineExceeded, which is not retried."""
    try:
        yield from response.iter_bytes(CHUNK)
    except (ProtocolError, OSError) as error:
        late = deadline_error(response)
        if late is not None:
            raise late from None
        raise Transient(f"body cut off: {short_reason(error)}") from None
    late = deadline_error(response)  # a body that ends at the connection's end may have been cut
    if late is not None:
        raise late


def read_capped(response: Response, cap: int, what: str) -> bytes:
    """The whole body, refused with LimitExceededError as soon as it passes ``cap`` bytes."""
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit():
        check_cap(int(declared), cap, f"the size of {what}")
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in iter_body(response):
            total += len(chunk)
            check_cap(total, cap, f"the size of {what} (still streaming)")
            chunks.append(chunk)
    finally:
        response.close()
    return b"".join(chunks)


def read_verified(response: Response, digest: Digest, size: int, what: str) -> bytes:
    """Exactly ``size`` bytes hashing to ``digest``; more bytes stop the stream at once."""
    hasher = hashlib.sha256()
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in iter_body(response):
            total += len(chunk)
            if total > size:
                raise DigestMismatchError(f"{what} {digest} is longer than its descriptor's {size} bytes")
            hasher.update(chunk)
            chunks.append(chunk)
    finally:
        response.close()
    if total != size:
        raise DigestMismatchError(f"{what} {digest} is {total} bytes, but its descriptor says {size}")
    actual = Digest(hasher.hexdigest())
    if actual != digest:
        raise DigestMismatchError(f"{what} content is {actual}, but it is named {digest}")
    return b"".join(chunks)


def read_error_body(response: Response) -> bytes:
    """At most ERROR_BODY_CAP bytes of an error answer: what arrived before a failure, except
    that a body cut by the request's deadline is RegistryDeadlineExceeded."""
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in response.iter_bytes(CHUNK):
            chunks.append(chunk)
            total += len(chunk)
            if total >= ERROR_BODY_CAP:
                break
    except (ProtocolError, OSError):
        pass
    finally:
        response.close()
    late = deadline_error(response)
    if late is not None:
        raise late
    return b"".join(chunks)[:ERROR_BODY_CAP]
