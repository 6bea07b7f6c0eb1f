"""Assemble an image from an OCI layout's parts: index.json plus a function that returns blobs;
of an index, the entry Docker would pull (``choose_manifest``).

Pure: the adapters pass the bytes (or a function returning them); every blob is verified here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from imagegolf.errors import BadInputError
from imagegolf.oci import media
from imagegolf.oci.config import parse_config
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.image import Image
from imagegolf.oci.limits import DEFAULT_CAPS, Caps, check_cap
from imagegolf.oci.manifest import Index, is_attestation, parse_index, parse_manifest, platform_matches
from imagegolf.oci.validate import validate_image, verify_blob
from imagegolf.platform import ANY, Platform, Wanted

BlobGetter = Callable[[Descriptor], bytes]
_MAX_INDEX_DEPTH = 3


def image_from_index(
    index_json: bytes,
    get_blob: BlobGetter,
    *,
    wanted: Wanted = ANY,
    caps: Caps = DEFAULT_CAPS,
) -> Image:
    """Follow an OCI layout's index.json (through nested indexes) to one verified image.

    An index's entry is chosen as Docker would for ``wanted.platforms`` (in order of preference);
    the image records why. Platforms that were asked for must be the image's even when no index
    offered a choice.
    """
    platforms = wanted.platforms
    choice = choose_manifest(parse_index(index_json, caps=caps), platforms)
    chosen = choice.why if choice.made else None
    index_blob: bytes | None = None
    for _ in range(_MAX_INDEX_DEPTH):
        if choice.descriptor.media_type not in media.INDEXES:
            break
        index_blob = verified_blob(get_blob, choice.descriptor, "image index", caps.index_bytes)
        choice = choose_manifest(
            parse_index(index_blob, media_type=choice.descriptor.media_type, caps=caps), platforms
        )
        chosen = choice.why if choice.made else chosen
    else:
        raise BadInputError(f"image indexes nest more than {_MAX_INDEX_DEPTH} deep")
    descriptor = choice.descriptor
    raw_manifest = verified_blob(get_blob, descriptor, "manifest", caps.manifest_bytes)
    manifest = parse_manifest(raw_manifest, media_type=descriptor.media_type, caps=caps)
    config = parse_config(verified_blob(get_blob, manifest.config, "config", caps.config_bytes), caps=caps)
    layers = tuple(
        verified_blob(get_blob, layer, f"layer {number}", caps.compressed_bytes)
        for number, layer in enumerate(manifest.layers, start=1)
    )
    image = Image(manifest, config, layers, index=index_blob, chosen=chosen)
    validate_image(image, platforms=wanted.required, caps=caps)
    return image


def verified_blob(get_blob: BlobGetter, descriptor: Descriptor, what: str, cap: int) -> bytes:
    check_cap(descriptor.size, cap, f"the declared size of the {what}")
    data = get_blob(descriptor)
    verify_blob(descriptor, data, what=what)
    return data


@dataclass(frozen=True)
class Choice:
    """The index entry taken, and the sentence that says why (shown with the judgement)."""

    descriptor: Descriptor
    why: str
    among: int = 1  # entries it was chosen from (images and attestation manifests)

    @property
    def made(self) -> bool:
        """Whether there was anything to choose from (more than the one entry)."""
        return self.among > 1


def choose_manifest(index: Index, wanted: Sequence[Platform] = ()) -> Choice:
    """The entry Docker would pull: the first of the ``wanted`` platforms (in order of
    preference) the index holds, first such entry in index order. Without ``wanted``, the only
    image of the index. Attestation manifests (BuildKit's, ``unknown/unknown``) are never chosen."""
    images: list[Descriptor] = []
    skipped = 0
    for entry in index.manifests:
        if entry.media_type not in media.MANIFESTS | media.INDEXES or entry.digest in {
            d.digest for d in images
        }:
            continue  # a layout may name one image several times
        if is_attestation(entry):
            skipped += 1
            continue
        images.append(entry)
    described = ", ".join(str(d.platform) for d in images if d.platform) or "none described"
    also = f"; {skipped} attestation manifest{'s' if skipped != 1 else ''} never chosen" if skipped else ""
    if not images:
        raise BadInputError(f"the index holds no image, only {skipped} attestation manifest(s)")
    if not wanted:
        if len(images) == 1:
            return Choice(images[0], f"the only image of the index{also}", len(images) + skipped)
        raise BadInputError(
            f"the index holds {len(images)} images ({described})", hint="name the platform to take"
        )
    among = len(images) + skipped
    for platform in wanted:
        for descriptor in images:
            if descriptor.platform is not None and platform_matches(platform, descriptor.platform):
                others = [str(d.platform) for d in images if d is not descriptor and d.platform]
                holds = f"; it also holds {', '.join(others)}" if others else ""
                rank = "the platform wanted" if len(wanted) == 1 else (
                    f"the first of the wanted platforms ({', '.join(str(w) for w in wanted)}) it holds"
                )
                return Choice(descriptor, f"{descriptor.platform}: {rank}{holds}{also}", among)
    if len(images) == 1 and images[0].platform is None:
        return Choice(images[0], f"the index's one image, which names no platform{also}", 1 + skipped)
    asked = ", ".join(str(w) for w in wanted)
    raise BadInputError(f"no image for {asked} in the index (it has: {described})")
