"""An index shaped exactly like the one `docker buildx build --push` (BuildKit ≥ 0.11) pushes:
the image for its platform, and a provenance attestation manifest beside it.

buildx is not packaged in Debian 12, so tests build the shape by hand, byte for byte as BuildKit
writes it: the attestation is an OCI manifest whose config says ``unknown/unknown`` and whose one
layer is an in-toto statement; its index entry has platform ``unknown/unknown`` and the
annotations ``vnd.docker.reference.type: attestation-manifest`` and
``vnd.docker.reference.digest: <the image's manifest digest>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from imagegolf.digest import Digest
from imagegolf.oci import media
from imagegolf.oci.image import Image
from imagegolf.registry import RegistryClient

IN_TOTO = "application/vnd.in-toto+json"
PROVENANCE = "https://slsa.dev/provenance/v0.2"


@dataclass(frozen=True)
class BuildxIndex:
    index: bytes
    attestation: bytes  # the attestation manifest
    blobs: dict[Digest, bytes]  # the attestation's config and in-toto layer

    @property
    def digest(self) -> Digest:
        return Digest.of(self.index)


def _compact(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def buildx_index(image: Image) -> BuildxIndex:
    statement = _compact(
        {
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": PROVENANCE,
            "subject": [{"name": "pkg:docker/imagegolf", "digest": {"sha256": image.manifest_digest.hex}}],
            "predicate": {"builder": {"id": ""}, "buildType": "https://mobyproject.org/buildkit@v1"},
        }
    )
    config = _compact(
        {
            "architecture": "unknown",
            "os": "unknown",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [str(Digest.of(statement))]},
        }
    )
    attestation = _compact(
        {
            "schemaVersion": 2,
            "mediaType": media.OCI_MANIFEST,
            "config": {"mediaType": media.OCI_CONFIG, "digest": str(Digest.of(config)), "size": len(config)},
            "layers": [
                {
                    "mediaType": IN_TOTO,
                    "digest": str(Digest.of(statement)),
                    "size": len(statement),
                    "annotations": {"in-toto.io/predicate-type": PROVENANCE},
                }
            ],
        }
    )
    platform = {"architecture": image.platform.architecture, "os": image.platform.os}
    if image.platform.variant:
        platform["variant"] = image.platform.variant
    index = _compact(
        {
            "schemaVersion": 2,
            "mediaType": media.OCI_INDEX,
            "manifests": [
                {
                    "mediaType": image.manifest.media_type,
                    "digest": str(image.manifest_digest),
                    "size": len(image.manifest_bytes),
                    "platform": platform,
                },
                {
                    "mediaType": media.OCI_MANIFEST,
                    "digest": str(Digest.of(attestation)),
                    "size": len(attestation),
                    "annotations": {
                        "vnd.docker.reference.digest": str(image.manifest_digest),
                        "vnd.docker.reference.type": "attestation-manifest",
                    },
                    "platform": {"architecture": "unknown", "os": "unknown"},
                },
            ],
        }
    )
    return BuildxIndex(index, attestation, {Digest.of(config): config, Digest.of(statement): statement})


def push_buildx_index(client: RegistryClient, repository: str, tag: str, image: Image) -> BuildxIndex:
    """Push the image, its attestation and the index under ``tag``, as buildx does."""
    client.push_image(repository, image, None)
    shaped = buildx_index(image)
    for data in shaped.blobs.values():
        client.upload_blob(repository, data)
    attestation = shaped.attestation
    client.put_manifest(repository, str(Digest.of(attestation)), attestation, media.OCI_MANIFEST)
    client.put_manifest(repository, tag, shaped.index, media.OCI_INDEX)
    return shaped
