"""Read ``docker save`` archives (manifest.json + config json + layer tars) into an image.

A ``docker save`` archive has no manifest blob; reading one synthesizes an OCI manifest.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from imagegolf.errors import BadInputError
from imagegolf.oci import media
from imagegolf.oci.config import ImageConfig, parse_config
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.gzip import is_gzip
from imagegolf.oci.image import Image
from imagegolf.oci.limits import DEFAULT_CAPS, Caps, check_cap
from imagegolf.oci.manifest import build_manifest, parse_manifest, platform_matches
from imagegolf.oci.validate import validate_image
from imagegolf.platform import ANY, Wanted


def image_from_docker_manifest(
    manifest_json: bytes,
    get_file: Callable[[str], bytes],
    *,
    wanted: Wanted = ANY,
    caps: Caps = DEFAULT_CAPS,
) -> Image:
    """An image from a ``docker save`` archive's manifest.json, which has no manifest blob.

    The manifest is synthesized (OCI, canonical JSON) and the image says so with
    ``manifest_synthesized``; its digest is not one any registry has seen.
    """
    entries = _docker_entries(manifest_json, caps)
    found = [(e, parse_config(_capped(get_file, e["Config"], caps.config_bytes), caps=caps)) for e in entries]
    entry, config = _choose(found, wanted)
    layers = tuple(_capped(get_file, name, caps.compressed_bytes) for name in entry["Layers"])
    layer_descriptors = [
        Descriptor.of(media.OCI_LAYER_GZIP if is_gzip(layer) else media.OCI_LAYER, layer) for layer in layers
    ]
    raw_manifest = build_manifest(Descriptor.of(media.OCI_CONFIG, config.raw), layer_descriptors)
    manifest = parse_manifest(raw_manifest, media_type=media.OCI_MANIFEST, caps=caps)
    image = Image(manifest, config, layers, manifest_synthesized=True)
    validate_image(image, platforms=wanted.required, caps=caps)
    return image


Found = tuple[dict[str, Any], ImageConfig]


def _choose(found: list[Found], wanted: Wanted) -> Found:
    """The one image of the archive, or the first of the wanted platforms it holds."""
    if len(found) == 1:
        return found[0]
    for platform in wanted.platforms:
        for candidate in found:
            if platform_matches(platform, candidate[1].platform):
                return candidate
    held = ", ".join(str(config.platform) for _, config in found) or "none"
    hint = "name the platform to take" if found else None
    raise BadInputError(f"the archive holds {len(found)} images ({held}), none for {wanted}", hint=hint)


def _docker_entries(manifest_json: bytes, caps: Caps) -> list[dict[str, Any]]:
    check_cap(len(manifest_json), caps.manifest_bytes, "the size of manifest.json")
    try:
        entries = json.loads(manifest_json.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise BadInputError(f"manifest.json is not valid JSON: {error}") from None
    if not isinstance(entries, list) or not entries:
        raise BadInputError("manifest.json is not a non-empty list of images")
    for entry in entries:
        layers = entry.get("Layers") if isinstance(entry, dict) else None
        if not isinstance(layers, list) or not all(isinstance(name, str) for name in layers):
            raise BadInputError("a manifest.json entry has no Layers list")
        if not isinstance(entry.get("Config"), str):
            raise BadInputError("a manifest.json entry has no Config path")
        check_cap(len(layers), caps.layer_count, "the number of layers")
    return entries


def _capped(get_file: Callable[[str], bytes], name: str, cap: int) -> bytes:
    data = get_file(name)
    check_cap(len(data), cap, f"the size of {name}")
    return data
