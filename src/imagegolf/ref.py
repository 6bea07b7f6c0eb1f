"""Image references ``[host[:port]/]repo[:tag][@sha256:…]`` as a value type."""

from __future__ import annotations

import re
from dataclasses import dataclass

from imagegolf.digest import Digest
from imagegolf.errors import UsageError

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPO = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
DEFAULT_REGISTRY = "docker.io"


@dataclass(frozen=True)
class Reference:
    registry: str
    repository: str
    tag: str | None = None
    digest: Digest | None = None

    @classmethod
    def parse(cls, text: str) -> Reference:
        """Parse a reference the way docker does: a first component with '.', ':' or
        'localhost' is a registry host; otherwise the registry is docker.io."""
        rest, digest = text, None
        if "@" in rest:
            rest, _, digest_text = rest.partition("@")
            digest = Digest.parse(digest_text)
        tag = None
        slash = rest.rfind("/")
        colon = rest.rfind(":")
        if colon > slash:
            rest, tag = rest[:colon], rest[colon + 1 :]
            if not _TAG.fullmatch(tag):
                raise UsageError(f"invalid tag {tag!r} in {text!r}")
        first, sep, remainder = rest.partition("/")
        if sep and ("." in first or ":" in first or first == "localhost"):
            registry, repository = first, remainder
        else:
            registry, repository = DEFAULT_REGISTRY, rest
            if "/" not in repository:
                repository = f"library/{repository}"
        if not _REPO.fullmatch(repository):
            raise UsageError(
                f"invalid image reference {text!r}",
                hint="use host[:port]/repo[:tag][@sha256:…] with a lowercase repository",
            )
        if tag is None and digest is None:
            tag = "latest"
        return cls(registry, repository, tag, digest)

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text
