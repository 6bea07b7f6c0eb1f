"""Image manifests and indexes: builders make the exact bytes, parsers keep the raw bytes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from imagegolf.digest import Digest
from imagegolf.errors import BadInputError, UsageError
from imagegolf.oci import media
from imagegolf.oci.canonical import canonical_json, parse_json_object
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.limits import DEFAULT_CAPS, Caps, check_cap
from imagegolf.platform import Platform


@dataclass(frozen=True)
class Manifest:
    """A parsed image manifest and the exact bytes it was parsed from."""

    raw: bytes
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]

    @property
    def digest(self) -> Digest:
        return Digest.of(self.raw)

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, len(self.raw))


@dataclass(frozen=True)
class Index:
    """A parsed image index (or OCI layout index.json) and its exact bytes."""

    raw: bytes
    manifests: tuple[Descriptor, ...]

    @property
    def digest(self) -> Digest:
        return Digest.of(self.raw)


def build_manifest(
    config: Descriptor, layers: Sequence[Descriptor], *, media_type_field: bool = False
) -> bytes:
    """OCI manifest bytes in canonical JSON.

    Without ``media_type_field`` the manifest's own ``mediaType`` is left out: image-spec
    manifest.md says it SHOULD be used, not MUST; the type travels in the descriptor and the
    Content-Type header, and engines and registries accept its absence.
    """
    body: dict[str, Any] = {
        "schemaVersion": 2,
        "config": config.to_json(),
        "layers": [layer.to_json() for layer in layers],
    }
    if media_type_field:
        body["mediaType"] = media.OCI_MANIFEST
    return canonical_json(body)


def build_index(
    manifests: Sequence[Descriptor],
    *,
    media_type_field: bool = True,
    annotations: dict[str, str] | None = None,
) -> bytes:
    """OCI index bytes in canonical JSON (also the shape of an OCI layout's index.json)."""
    body: dict[str, Any] = {"schemaVersion": 2, "manifests": [m.to_json() for m in manifests]}
    if media_type_field:
        body["mediaType"] = media.OCI_INDEX
    if annotations:
        body["annotations"] = annotations
    return canonical_json(body)


def parse_manifest(raw: bytes, *, media_type: str | None = None, caps: Caps = DEFAULT_CAPS) -> Manifest:
    """Parse manifest bytes (OCI or Docker schema 2); ``media_type`` is what the descriptor said."""
    body = parse_json_object(raw, cap=caps.manifest_bytes, what="the manifest")
    declared = _schema2_media_type(body, media_type, "manifest")
    if "manifests" in body or declared not in media.MANIFESTS:
        raise BadInputError(
            f"expected an image manifest, got {declared!r}", hint="pass an image, not an index"
        )
    config = Descriptor.from_json(body.get("config"), "the manifest's config descriptor")
    layers_json = body.get("layers")
    if not isinstance(layers_json, list):
        raise BadInputError("the manifest has no layers list")
    check_cap(len(layers_json), caps.layer_count, "the number of layers")
    layers = tuple(
        Descriptor.from_json(layer, f"layer descriptor {i}") for i, layer in enumerate(layers_json)
    )
    return Manifest(raw, declared, config, layers)


def parse_index(raw: bytes, *, media_type: str | None = None, caps: Caps = DEFAULT_CAPS) -> Index:
    """Parse an image index, a Docker manifest list or an OCI layout's index.json."""
    body = parse_json_object(raw, cap=caps.index_bytes, what="the image index")
    declared = _schema2_media_type(body, media_type, "index")
    if declared not in media.INDEXES or not isinstance(body.get("manifests"), list):
        raise BadInputError(f"expected an image index, got {declared!r}")
    entries = body["manifests"]
    check_cap(len(entries), caps.layer_count * 8, "the number of index entries")
    return Index(
        raw, tuple(Descriptor.from_json(entry, f"index entry {i}") for i, entry in enumerate(entries))
    )


def _schema2_media_type(body: dict[str, Any], declared: str | None, kind: str) -> str:
    if body.get("schemaVersion") != 2:
        raise BadInputError(
            f"the {kind} is not schemaVersion 2", hint="Docker schema 1 images are not supported"
        )
    inner = body.get("mediaType")
    if inner is not None and not isinstance(inner, str):
        raise BadInputError(f"the {kind}'s mediaType is not a string")
    if inner and declared and inner != declared:
        raise BadInputError(f"the {kind} says it is {inner!r} but its descriptor says {declared!r}")
    if inner or declared:
        return inner or declared or ""
    return media.OCI_INDEX if kind == "index" else media.OCI_MANIFEST


def platform_matches(wanted: Platform, offered: Platform) -> bool:
    """Same os and architecture as Docker normalises them; variants must agree when both are given."""
    wanted, offered = _normalized(wanted), _normalized(offered)
    if (wanted.os, wanted.architecture) != (offered.os, offered.architecture):
        return False
    return wanted.variant is None or offered.variant is None or wanted.variant == offered.variant


def _normalized(platform: Platform) -> Platform:
    """As containerd's platforms.Normalize: ``x86_64`` is amd64, a variant-less arm64 is v8, …"""
    try:
        return Platform.parse(str(platform))
    except UsageError:
        return platform  # an os or architecture imagegolf does not know: compared as written


ATTESTATION_ANNOTATION = "vnd.docker.reference.type"  # BuildKit: "attestation-manifest"


def is_attestation(entry: Descriptor) -> bool:
    """BuildKit's attestation manifests (provenance, SBOM): in an index, never an image to run."""
    if entry.annotation(ATTESTATION_ANNOTATION) == "attestation-manifest":
        return True
    return entry.platform is not None and entry.platform.os == "unknown"


def referenced(raw_manifest: bytes) -> tuple[Descriptor, ...]:
    """The config and layer descriptors of a manifest of any kind (an attestation's too)."""
    body = parse_json_object(raw_manifest, cap=len(raw_manifest), what="a manifest")
    listed = [body.get("config"), *(body.get("layers") or [])]
    return tuple(Descriptor.from_json(item, "a referenced blob") for item in listed if item is not None)
