"""oci/artifact.py: signatures, attestations, SBOMs and OCI artifacts are told from images.

The manifests are written out as the tools write them (cosign 2.x, notation, helm 3, buildx,
buildkit's registry cache), with made-up digests.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from imagegolf import elf
from imagegolf.cli.images import program_image
from imagegolf.oci import media
from imagegolf.oci.artifact import artifact_reason, sidecar_tag
from imagegolf.oci.multi import with_shared_index
from imagegolf.platform import DEFAULT, Platform

HEX = "9c93a5d620d2" + "0" * 52
D1, D2, D3, D4 = (f"sha256:{n:064x}" for n in range(1, 5))
EMPTY = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


def raw(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def manifest(config_type: str, *layer_types: str, **extra: Any) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": media.OCI_MANIFEST,
        "config": {"mediaType": config_type, "digest": D1, "size": 2},
        "layers": [{"mediaType": t, "digest": D2, "size": 10} for t in layer_types],
        **extra,
    }


def entry(
    media_type: str = media.OCI_MANIFEST, platform: tuple[str, str] = ("linux", "amd64"), **extra: Any
) -> dict[str, Any]:
    return {
        "mediaType": media_type,
        "digest": D3,
        "size": 500,
        "platform": {"os": platform[0], "architecture": platform[1]},
        **extra,
    }


def index(*entries: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": list(entries), **extra}


ATTESTATION = entry(
    platform=("unknown", "unknown"),
    annotations={"vnd.docker.reference.digest": D3, "vnd.docker.reference.type": "attestation-manifest"},
)

# -- tags ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "words"),
    [(".sig", "signature"), (".att", "attestations"), (".sbom", "SBOM"), ("", "referrers")],
)
def test_cosign_sidecar_tags_and_the_referrers_tag_are_not_entries(suffix: str, words: str) -> None:
    reason = sidecar_tag(f"sha256-{HEX}{suffix}")
    assert reason is not None and words in reason and "sha256:9c93a5d620d2…" in reason


@pytest.mark.parametrize(
    "tag",
    [
        "alice",
        "pjones-v2",
        f"sha256-{HEX}.tar",  # not one of cosign's suffixes
        f"sha256-{HEX[:-1]}.sig",  # 63 hex digits
        f"sha256-{HEX.upper()}.sig",  # digests are lowercase
        f"sha512-{HEX}.sig",
        f"x-sha256-{HEX}.sig",
        "sha256",
    ],
)
def test_other_tags_are_left_alone(tag: str) -> None:
    assert sidecar_tag(tag) is None


# -- manifests -------------------------------------------------------------------------------------


def test_a_cosign_signature_is_an_artifact_by_its_layer() -> None:
    signature = manifest(media.OCI_CONFIG, "application/vnd.dev.cosign.simplesigning.v1+json")
    signature["layers"][0]["annotations"] = {"dev.cosignproject.cosign/signature": "MEUCIQ…"}
    reason = artifact_reason(raw(signature), media.OCI_MANIFEST)
    assert reason is not None and "simplesigning" in reason


def test_a_cosign_attestation_is_an_artifact_by_its_layer() -> None:
    attestation = manifest(media.OCI_CONFIG, "application/vnd.dsse.envelope.v1+json")
    reason = artifact_reason(raw(attestation), media.OCI_MANIFEST)
    assert reason is not None and "dsse" in reason


@pytest.mark.parametrize(
    "config_type",
    [
        "application/vnd.dev.cosign.artifact.sig.v1+json",
        "application/vnd.oci.empty.v1+json",
        "application/vnd.cncf.helm.config.v1+json",
        "application/vnd.buildkit.cacheconfig.v0",
    ],
)
def test_a_config_that_is_not_an_image_config_is_an_artifact(config_type: str) -> None:
    reason = artifact_reason(raw(manifest(config_type, media.OCI_LAYER_GZIP)), media.OCI_MANIFEST)
    assert reason == f"an artifact, not an image: its config is {config_type}"


def test_a_referrer_names_its_subject() -> None:
    notation = manifest(
        "application/vnd.oci.empty.v1+json",
        "application/jose+json",
        artifactType="application/vnd.cncf.notary.signature",
        subject={"mediaType": media.OCI_MANIFEST, "digest": f"sha256:{HEX}", "size": 400},
    )
    assert artifact_reason(raw(notation), media.OCI_MANIFEST) == (
        "an OCI referrer (application/vnd.cncf.notary.signature): its subject is sha256:9c93a5d620d2…"
    )
    no_type = manifest(media.OCI_CONFIG, media.OCI_LAYER, subject={"digest": D4})
    assert artifact_reason(raw(no_type), media.OCI_MANIFEST) == (
        f"an OCI referrer: its subject is {D4[:19]}…"
    )


def test_an_artifact_type_alone_makes_an_artifact_even_with_an_image_config() -> None:
    typed = manifest(media.OCI_CONFIG, media.OCI_LAYER, artifactType="application/spdx+json")
    reason = artifact_reason(raw(typed), media.OCI_MANIFEST)
    assert reason == "an OCI artifact: artifactType application/spdx+json"


def test_the_withdrawn_artifact_manifest_is_an_artifact() -> None:
    document = {
        "mediaType": "application/vnd.oci.artifact.manifest.v1+json",
        "artifactType": "application/vnd.example+type",
        "blobs": [],
    }
    reason = artifact_reason(raw(document), "application/vnd.oci.artifact.manifest.v1+json")
    assert reason == "an OCI artifact manifest (application/vnd.example+type)"


@pytest.mark.parametrize(
    ("config_type", "layer_type", "manifest_type"),
    [
        (media.OCI_CONFIG, media.OCI_LAYER, media.OCI_MANIFEST),
        (media.OCI_CONFIG, media.OCI_LAYER_GZIP, media.OCI_MANIFEST),
        (media.OCI_CONFIG, media.OCI_LAYER_ZSTD, media.OCI_MANIFEST),
        (media.DOCKER_CONFIG, media.DOCKER_LAYER_GZIP, media.DOCKER_MANIFEST),
    ],
)
def test_images_are_not_artifacts(config_type: str, layer_type: str, manifest_type: str) -> None:
    document = manifest(config_type, layer_type, mediaType=manifest_type)
    assert artifact_reason(raw(document), manifest_type) is None
    assert artifact_reason(raw(document), "") is None  # the document's own mediaType
    assert artifact_reason(raw(document), "application/octet-stream") is None


def test_imagegolf_s_own_image_and_index_are_not_artifacts() -> None:
    one = program_image(b"hello\n", DEFAULT, elf.Mode.EMBED, elf.Profile.PORTABLE)[1]
    assert artifact_reason(one.manifest_bytes, media.OCI_MANIFEST) is None
    both = with_shared_index(
        [
            program_image(b"hello\n", Platform.parse(p), elf.Mode.EMBED, elf.Profile.PORTABLE)[1]
            for p in ("linux/amd64", "linux/arm64")
        ]
    )
    assert both[0].index is not None
    assert artifact_reason(both[0].index, media.OCI_INDEX) is None


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b"\xff\xfe", b'{"schemaVersion": 1, "fsLayers": []}', b'{"config": "x"}'],
)
def test_what_cannot_be_read_is_left_to_the_judge(body: bytes) -> None:
    assert artifact_reason(body, media.OCI_MANIFEST) is None
    assert artifact_reason(body, "application/vnd.docker.distribution.manifest.v1+prettyjws") is None


def test_a_hostile_media_type_is_shortened_and_printable() -> None:
    reason = artifact_reason(raw(manifest("x\n" + "y" * 500)), media.OCI_MANIFEST)
    assert reason is not None and "\n" not in reason and len(reason) < 160


# -- indexes ---------------------------------------------------------------------------------------


def test_a_multi_platform_index_is_not_an_artifact() -> None:
    document = index(entry(), entry(platform=("linux", "arm64")), entry(media.OCI_INDEX))
    assert artifact_reason(raw(document), media.OCI_INDEX) is None
    docker = index(entry(media.DOCKER_MANIFEST), mediaType=media.DOCKER_MANIFEST_LIST)
    assert artifact_reason(raw(docker), media.DOCKER_MANIFEST_LIST) is None


def test_a_buildx_index_with_an_attestation_is_not_an_artifact() -> None:
    document = index(entry(), entry(platform=("linux", "arm64")), ATTESTATION, ATTESTATION)
    assert artifact_reason(raw(document), media.OCI_INDEX) is None


def test_an_index_of_attestations_only_is_an_artifact() -> None:
    reason = artifact_reason(raw(index(ATTESTATION)), media.OCI_INDEX)
    assert reason == "an index of artifacts only (1 entry: attestation-manifest)"
    unknown = entry(platform=("unknown", "unknown"))
    assert "platform unknown/unknown" in str(artifact_reason(raw(index(unknown, unknown)), media.OCI_INDEX))


def test_a_referrers_index_is_an_artifact() -> None:
    referrers = index(
        entry(artifactType="application/vnd.dev.cosign.artifact.sig.v1+json"),
        entry(artifactType="application/spdx+json"),
    )
    assert artifact_reason(raw(referrers), media.OCI_INDEX) == (
        "an index of artifacts only (2 entries: application/spdx+json, "
        "application/vnd.dev.cosign.artifact.sig.v1+json)"
    )


def test_buildkit_s_registry_cache_is_an_artifact() -> None:
    cache = index(
        {"mediaType": media.OCI_LAYER_GZIP, "digest": D1, "size": 10},
        {"mediaType": "application/vnd.buildkit.cacheconfig.v0", "digest": D2, "size": 10},
    )
    reason = artifact_reason(raw(cache), media.OCI_INDEX)
    assert reason is not None and "cacheconfig" in reason


def test_an_index_that_says_it_is_an_artifact_is_one() -> None:
    typed = index(entry(), artifactType="application/vnd.example.bundle")
    reason = artifact_reason(raw(typed), media.OCI_INDEX)
    assert reason == "an OCI artifact: artifactType application/vnd.example.bundle"
    about = index(entry(), subject={"mediaType": media.OCI_MANIFEST, "digest": D4, "size": 1})
    assert str(artifact_reason(raw(about), media.OCI_INDEX)).startswith("an OCI referrer")


def test_an_empty_index_is_left_to_the_judge() -> None:
    assert artifact_reason(raw(index()), media.OCI_INDEX) is None
    assert artifact_reason(raw(index(entry(), "junk")), media.OCI_INDEX) is None
