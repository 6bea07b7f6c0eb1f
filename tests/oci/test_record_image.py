"""The record image: golden digest, pull bytes and their breakdown."""

from __future__ import annotations

import json

from imagegolf.digest import Digest
from imagegolf.oci import media
from imagegolf.oci.build import build_image, build_record_image
from imagegolf.oci.gzip import gunzip
from imagegolf.oci.metrics import size_metrics
from imagegolf.oci.tar_entry import TarEntry
from imagegolf.oci.validate import validate_image
from imagegolf.platform import LINUX_386, LINUX_ARM64
from tests.oci.payloads import RECORD_PAYLOAD

# A changed digest is a reviewed change: every byte of manifest, config and layer is pinned here.
GOLDEN_RECORD_DIGEST = "sha256:d50a8675e92ba637662ec036523472abefb2bd135c64f76892525862240cc83b"


def test_golden_record_digest() -> None:
    image = build_record_image(RECORD_PAYLOAD, LINUX_386)
    assert str(image.manifest_digest) == GOLDEN_RECORD_DIGEST
    assert build_record_image(RECORD_PAYLOAD, LINUX_386) == image


def test_record_image_pull_bytes_and_breakdown() -> None:
    image = build_record_image(RECORD_PAYLOAD, LINUX_386)
    manifest, config, (layer,) = len(image.manifest_bytes), len(image.config_bytes), image.layers
    assert (manifest, config, len(layer)) == (344, 173, 113)
    metrics = size_metrics(image)
    assert metrics.pull_bytes == manifest + config + len(layer) == 630 <= 650
    assert metrics.docker_classic == 73
    assert metrics.registry_compressed == len(layer)
    assert metrics.containerd_content == metrics.pull_bytes
    assert metrics.podman == (512 + 73) + config + 2 * manifest


def test_record_image_contents() -> None:
    image = build_record_image(RECORD_PAYLOAD, LINUX_386)
    manifest = json.loads(image.manifest_bytes)
    assert "mediaType" not in manifest and manifest["schemaVersion"] == 2
    assert manifest["layers"][0]["mediaType"] == media.OCI_LAYER_GZIP
    config = json.loads(image.config_bytes)
    assert config["config"] == {"Cmd": ["/a"]} and config["architecture"] == "386"
    tar = gunzip(image.layers[0])
    assert config["rootfs"]["diff_ids"] == [str(Digest.of(tar))]
    assert tar[512:] == RECORD_PAYLOAD
    validate_image(image)


def test_build_image_with_several_files_and_a_variant() -> None:
    files = [
        TarEntry.directory("bin"),
        TarEntry.file("bin/x", b"\x7fELF", 0o755),
        TarEntry.symlink("x", "bin/x"),
    ]
    image = build_image(
        files, LINUX_ARM64, entrypoint=["/x"], cmd=["hello"], compact_tar=False, compress=False
    )
    assert image.platform == LINUX_ARM64 and json.loads(image.config_bytes)["variant"] == "v8"
    assert image.config.argv == ("/x", "hello")
    assert image.manifest.layers[0].media_type == media.OCI_LAYER
    assert len(image.layers[0]) % 512 == 0
    validate_image(image)
    assert size_metrics(image).docker_classic == 4 + len("bin/x")
