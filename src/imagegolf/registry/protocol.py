"""Small pieces of the distribution protocol: names, scopes, media types, error bodies."""

from __future__ import annotations

import json
import re

from imagegolf.digest import Digest
from imagegolf.errors import UsageError
from imagegolf.oci import media
from imagegolf.registry.body import read_error_body
from imagegolf.registry.http import Response

Scopes = tuple[str, ...]
MANIFEST_ACCEPT = ", ".join(
    (media.OCI_MANIFEST, media.OCI_INDEX, media.DOCKER_MANIFEST, media.DOCKER_MANIFEST_LIST)
)
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


class NotModified:
    """A registry's 304 to a conditional request: what the client named is still current."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_MODIFIED"


NOT_MODIFIED = NotModified()


def if_none_match(digest: Digest) -> dict[str, str]:
    """The header that asks for a manifest only if it is no longer ``digest``.

    distribution (2.8, registry/handlers/manifests.go ``etagMatch``) compares each If-None-Match
    header with the digest, quoted or bare, as a whole string: one quoted digest matches; a list,
    a weak ``W/"…"`` or ``*`` never does (it then answers 200, as without the header).
    """
    return {"If-None-Match": f'"{digest}"'}


def pull_scope(repository: str) -> Scopes:
    return (f"repository:{repository}:pull",)


def push_scope(repository: str) -> Scopes:
    return (f"repository:{repository}:pull,push",)


def registry_error(response: Response) -> tuple[str | None, str]:
    """The first distribution error's code and ``CODE: message`` (else the HTTP status line)."""
    body = b"" if response.method == "HEAD" else read_error_body(response)
    response.close()
    try:
        errors = json.loads(body.decode("utf-8")).get("errors") if body else None
    except (UnicodeDecodeError, ValueError, AttributeError):
        errors = None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code, text = errors[0].get("code"), errors[0].get("message")
        if isinstance(code, str) and code:
            return code, f"{code}: {text}" if isinstance(text, str) and text else code
    return None, f"{response.status} {response.reason}"


def content_type(response: Response) -> str:
    return response.headers.get("Content-Type", "").split(";", 1)[0].strip()


def check_repository(repository: str) -> str:
    if not _REPOSITORY.fullmatch(repository) or len(repository) > 255:
        raise UsageError(f"invalid repository name {repository!r}", hint="use lowercase path components")
    return repository


def check_reference(reference: str) -> str:
    if reference.startswith("sha256:"):
        return str(Digest.parse(reference))
    if not _TAG.fullmatch(reference):
        raise UsageError(f"invalid tag {reference!r}")
    return reference
