"""Push and pull: an image to a registry reference with its exact bytes, and back.

What a push tells besides its digest is what a command line that runs the image needs to know:
whether the registry asked for credentials, where they came from, and whether TLS was verified.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagegolf.digest import Digest
from imagegolf.errors import UsageError
from imagegolf.images.access import RegistryAccess, open_client
from imagegolf.oci.image import Image
from imagegolf.oci.multi import ImageGroup
from imagegolf.platform import Wanted
from imagegolf.ref import Reference
from imagegolf.registry import NotAnIndex, PushResult
from imagegolf.registry.credentials import DOCKER_STORE, ENVIRONMENT, GIVEN, NONE
from imagegolf.registry.protocol import pull_scope

__all__ = [
    "DOCKER_STORE",
    "ENVIRONMENT",
    "GIVEN",
    "NONE",
    "NotAnIndex",
    "Pulled",
    "Pushed",
    "pull",
    "pull_index",
    "push",
]


@dataclass(frozen=True)
class Pushed:
    """A finished push. ``credentials``: the kind of credentials the registry asked for and got
    (a ``registry.credentials`` kind: ``given``, ``environment`` …), ``none`` when it asked for
    none; ``tls_verified``: False for plain HTTP or unverified TLS."""

    ref: Reference
    result: PushResult
    credentials: str
    username: str | None
    tls_verified: bool

    @property
    def reference(self) -> str:
        return f"{self.ref.registry}/{self.ref.repository}:{self.ref.tag}"

    @property
    def pinned(self) -> str:
        return f"{self.ref.registry}/{self.ref.repository}@{self.result.digest}"


@dataclass(frozen=True)
class Pulled:
    """A whole index, every image of it, and the other blobs it lists (attestations)."""

    images: tuple[Image, ...]
    extra: dict[Digest, bytes]


def push(image: ImageGroup, ref: Reference, access: RegistryAccess) -> Pushed:
    """Push ``image`` (or the images of one index) to ``ref``, which must name a tag."""
    if ref.digest is not None:
        raise UsageError(f"push to {ref}: give a tag, not a digest", hint="the digest is computed")
    with open_client(access, ref.registry) as client:
        if isinstance(image, Image):
            result = client.push_image(ref.repository, image, ref.tag)
        else:
            result = client.push_images(ref.repository, list(image), ref.tag)
        credentials = client.auth.credentials_for(pull_scope(ref.repository))
        asked = client.auth.challenge is not None and credentials.present  # the registry wanted them
        transport = client.transport
        verified = not (transport.base_url.startswith("http://") or transport.verify is False)
    return Pushed(
        ref,
        result,
        credentials.kind if asked else NONE,
        credentials.username if asked else None,
        verified,
    )


def pull(ref: Reference, wanted: Wanted, access: RegistryAccess) -> Image:
    """The image ``ref`` names (the tag resolved once), every byte verified; of an index, the
    entry for ``wanted``."""
    with open_client(access, ref.registry) as client:
        return client.pull_image(ref, wanted)


def pull_index(ref: Reference, access: RegistryAccess) -> Pulled:
    """Every image of the index ``ref`` names, with the blobs it also lists, byte-exact
    (:class:`NotAnIndex` when ``ref`` names one image)."""
    with open_client(access, ref.registry) as client:
        images, extra = client.pull_index(ref)
    return Pulled(images, extra)
