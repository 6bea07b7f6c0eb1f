"""One platform image as a value: the exact manifest, config and layer bytes, plus what was parsed."""

from __future__ import annotations

from dataclasses import dataclass, field

from imagegolf.digest import Digest
from imagegolf.oci.config import ImageConfig
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.manifest import Manifest
from imagegolf.platform import Platform


@dataclass(frozen=True)
class Image:
    """An image for one platform.

    ``layers`` are the blobs as stored (compressed or not), in manifest order. ``index`` is the
    image-index blob the image was chosen from, when it came through one (it counts in pull
    bytes). ``manifest_synthesized`` is True when the source had no manifest blob
    (a ``docker save`` archive): the manifest was then written by imagegolf and its digest and
    size are not the ones a registry would show.
    """

    manifest: Manifest
    config: ImageConfig
    layers: tuple[bytes, ...]
    index: bytes | None = None
    manifest_synthesized: bool = False
    # Why this entry of an index (which platform, what else it held): how it was read, not what
    # it is, so it takes no part in equality.
    chosen: str | None = field(default=None, compare=False)

    @property
    def manifest_bytes(self) -> bytes:
        return self.manifest.raw

    @property
    def config_bytes(self) -> bytes:
        return self.config.raw

    @property
    def manifest_digest(self) -> Digest:
        return self.manifest.digest

    @property
    def manifest_descriptor(self) -> Descriptor:
        return self.manifest.descriptor

    @property
    def platform(self) -> Platform:
        return self.config.platform

    def blobs(self) -> dict[Digest, bytes]:
        """Every blob an OCI layout of this image holds, by digest (manifest, config, layers)."""
        out = {self.manifest_digest: self.manifest_bytes, self.config.digest: self.config_bytes}
        out.update((Digest.of(layer), layer) for layer in self.layers)
        return out
