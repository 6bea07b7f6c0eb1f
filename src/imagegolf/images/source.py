"""The one resolver from SOURCE (a .tar, an OCI layout directory, or a registry reference) to a
verified image: every command that takes a SOURCE, and the judge's fetch, go through here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from imagegolf import store
from imagegolf.errors import UsageError
from imagegolf.images.access import RegistryAccess, open_client
from imagegolf.oci.image import Image
from imagegolf.platform import Wanted
from imagegolf.ref import Reference

if TYPE_CHECKING:
    from imagegolf.registry import RegistryClient

SOURCE_HELP = "a .tar (dual, docker-archive, oci-archive), an OCI layout dir, or a registry reference"


class SourceNotFound(UsageError):
    """A SOURCE that names a file or directory that does not exist (for the judge: the fetch
    failed, PULL_FAILED; the bytes are not at fault)."""


def is_path(source: str) -> bool:
    """Whether SOURCE names files rather than a registry reference."""
    return Path(source).exists() or source.startswith((".", "/")) or source.endswith(".tar")


def parse_reference(text: str) -> Reference:
    try:
        return Reference.parse(text)
    except UsageError as exc:
        raise UsageError(
            f"{text!r} is neither an existing file or directory nor an image reference",
            hint="give a .tar, an OCI layout dir, or host[:port]/repo[:tag][@sha256:…]",
        ) from exc


def check_source(source: str) -> None:
    """Refuse, before any work, a SOURCE that is neither a path nor a reference."""
    if not is_path(source):
        parse_reference(source)


def read_files(source: str, wanted: Wanted) -> Image:
    """A local SOURCE (an archive or an OCI layout) as verified bytes; never a registry."""
    path = Path(source)
    if not path.exists():
        raise SourceNotFound(f"no such file or directory: {source}")
    return store.read_source(path, wanted)


@dataclass
class Resolver:
    """SOURCE to an image, with one registry client per registry (tags resolved to a digest
    once): the judge's ``Fetch`` seam when a command reads several sources."""

    access: RegistryAccess = field(default_factory=RegistryAccess)
    _clients: dict[str, RegistryClient] = field(default_factory=dict, repr=False)

    def __call__(self, source: str, wanted: Wanted) -> Image:
        if is_path(source):
            return read_files(source, wanted)
        ref = parse_reference(source)
        return self.client(ref.registry).pull_image(ref, wanted)

    def client(self, registry: str) -> RegistryClient:
        if registry not in self._clients:
            self._clients[registry] = open_client(self.access, registry)
        return self._clients[registry]


def resolve(source: str, wanted: Wanted, access: RegistryAccess) -> Image:
    """SOURCE as a verified image: read from files, or pulled (a tag resolved to a digest once);
    of an index, the entry for ``wanted``."""
    return Resolver(access)(source, wanted)
