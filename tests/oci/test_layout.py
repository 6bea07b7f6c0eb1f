"""OCI layout files; images assembled from an index (nested, multi-platform) or docker's manifest.json."""

from __future__ import annotations

import json

import pytest

from imagegolf.digest import Digest
from imagegolf.errors import BadInputError, DigestMismatchError, UsageError
from imagegolf.oci import media
from imagegolf.oci.build import build_record_image
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.docker_save import image_from_docker_manifest
from imagegolf.oci.gzip import gunzip
from imagegolf.oci.layout import blob_path, docker_manifest_json, layout_files, tagged_name
from imagegolf.oci.manifest import build_index
from imagegolf.oci.resolve import image_from_index
from imagegolf.platform import LINUX_386, LINUX_AMD64, Wanted
from tests.oci.payloads import RECORD_PAYLOAD

IMAGE = build_record_image(RECORD_PAYLOAD, LINUX_386)
OTHER = build_record_image(RECORD_PAYLOAD[::-1], LINUX_AMD64)


def getter(files: dict[str, bytes]):  # type: ignore[no-untyped-def]
    return lambda descriptor: files[blob_path(descriptor.digest)]


def test_layout_files_name_the_image_for_containerd_and_oci() -> None:
    files = layout_files(IMAGE, "localhost/golf:v1", docker_manifest=True)
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    (entry,) = json.loads(files["index.json"])["manifests"]
    assert entry["annotations"] == {
        "io.containerd.image.name": "localhost/golf:v1",
        "org.opencontainers.image.ref.name": "v1",
    }
    assert entry["digest"] == str(IMAGE.manifest_digest)
    assert json.loads(files["manifest.json"]) == [
        {
            "Config": blob_path(IMAGE.config.digest),
            "Layers": [blob_path(Digest.of(IMAGE.layers[0]))],
            "RepoTags": ["localhost/golf:v1"],
        }
    ]
    for path, data in files.items():
        if path.startswith("blobs/"):
            assert path == blob_path(Digest.of(data))


def test_names_get_latest_and_bad_names_are_refused() -> None:
    assert tagged_name("localhost:5000/golf") == ("localhost:5000/golf:latest", "latest")
    for bad in ("Golf", "golf@sha256:" + "0" * 64, "golf:bad/tag", ""):
        with pytest.raises(UsageError):
            tagged_name(bad)


def test_image_from_index_round_trips_the_exact_bytes() -> None:
    files = layout_files(IMAGE, "golf")
    assert image_from_index(files["index.json"], getter(files)) == IMAGE


def test_image_from_a_nested_multi_platform_index() -> None:
    files = {**layout_files(IMAGE, "golf"), **layout_files(OTHER, "golf")}
    entries = [
        Descriptor(media.OCI_MANIFEST, i.manifest_digest, len(i.manifest_bytes), platform=i.platform)
        for i in (IMAGE, OTHER)
    ]
    index = build_index(entries)
    files[blob_path(Digest.of(index))] = index
    top = build_index([Descriptor.of(media.OCI_INDEX, index)])
    chosen = image_from_index(top, getter(files), wanted=Wanted.named((LINUX_AMD64,)))
    assert chosen.manifest == OTHER.manifest and chosen.index == index
    with pytest.raises(BadInputError, match="name the platform to take"):
        image_from_index(top, getter(files))


def test_a_tampered_blob_is_refused() -> None:
    files = layout_files(IMAGE, "golf")
    layer_path = blob_path(Digest.of(IMAGE.layers[0]))
    files[layer_path] = files[layer_path][:-1] + bytes([files[layer_path][-1] ^ 1])
    with pytest.raises(DigestMismatchError):
        image_from_index(files["index.json"], getter(files))


def test_docker_manifest_json_synthesizes_a_manifest() -> None:
    files = layout_files(IMAGE, "golf", docker_manifest=True)
    image = image_from_docker_manifest(docker_manifest_json(IMAGE, "golf"), files.__getitem__)
    assert image.manifest_synthesized and image.config == IMAGE.config and image.layers == IMAGE.layers
    assert image.manifest.layers[0].media_type == media.OCI_LAYER_GZIP
    plain = {**files, "layer.tar": gunzip(IMAGE.layers[0])}
    listing = json.dumps([{"Config": blob_path(IMAGE.config.digest), "Layers": ["layer.tar"]}]).encode()
    uncompressed = image_from_docker_manifest(listing, plain.__getitem__, wanted=Wanted.named((LINUX_386,)))
    assert uncompressed.manifest.layers[0].media_type == media.OCI_LAYER
    with pytest.raises(BadInputError, match="is for linux/386, not linux/amd64"):
        image_from_docker_manifest(listing, plain.__getitem__, wanted=Wanted.named((LINUX_AMD64,)))
