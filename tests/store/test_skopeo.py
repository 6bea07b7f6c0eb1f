"""skopeo, an independent reader, accepts what we write, and we read what it writes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from imagegolf import store
from imagegolf.digest import Digest
from imagegolf.oci import media
from imagegolf.oci.image import Image
from imagegolf.oci.metrics import size_metrics
from tests.services import require

NAME = "localhost/igtest/skopeo:v1"


def skopeo(*args: str) -> bytes:
    return subprocess.run([require("skopeo"), *args], capture_output=True, check=True, timeout=120).stdout


def test_skopeo_reads_our_oci_dir_byte_for_byte(record_image: Image, tmp_path: Path) -> None:
    layout = store.write_oci_dir(record_image, tmp_path / "layout", NAME)
    raw = skopeo("inspect", "--raw", f"oci:{layout}")
    assert raw == record_image.manifest_bytes
    assert skopeo("inspect", "--raw", "--config", f"oci:{layout}:v1") == record_image.config_bytes
    info = json.loads(skopeo("inspect", f"oci:{layout}"))
    assert info["Digest"] == str(record_image.manifest_digest)
    assert (info["Os"], info["Architecture"]) == ("linux", "386")


def test_skopeo_reads_our_dual_tar_as_oci_archive_and_docker_archive(
    record_image: Image, tmp_path: Path
) -> None:
    path = store.write_dual_tar(record_image, tmp_path / "img.tar", NAME)
    as_oci = json.loads(skopeo("inspect", f"oci-archive:{path}"))
    assert as_oci["Digest"] == str(record_image.manifest_digest)
    assert as_oci["Layers"] == [str(Digest.of(record_image.layers[0]))]
    # docker-archive has no manifest blob: skopeo synthesizes one, but the config is ours.
    assert skopeo("inspect", "--raw", "--config", f"docker-archive:{path}") == record_image.config_bytes
    docker_manifest = json.loads(skopeo("inspect", "--raw", f"docker-archive:{path}"))
    assert docker_manifest["config"]["digest"] == str(record_image.config.digest)


def test_we_read_what_skopeo_writes(multi_file_image: Image, tmp_path: Path) -> None:
    ours = store.write_oci_dir(multi_file_image, tmp_path / "ours", NAME)
    skopeo("copy", "--quiet", f"oci:{ours}:v1", f"oci:{tmp_path / 'theirs'}:v1")
    skopeo("copy", "--quiet", f"oci:{ours}:v1", f"oci-archive:{tmp_path / 'theirs.tar'}:v1")
    skopeo("copy", "--quiet", f"oci:{ours}:v1", f"docker-archive:{tmp_path / 'docker.tar'}:{NAME}")
    compressed = multi_file_image.manifest.layers[0].media_type == media.OCI_LAYER_GZIP
    for copy in (tmp_path / "theirs", tmp_path / "theirs.tar"):
        image = store.read_source(copy)
        assert image.config.diff_ids == multi_file_image.config.diff_ids
        assert size_metrics(image).docker_classic == size_metrics(multi_file_image).docker_classic
        if compressed:  # skopeo keeps gzip layers and our manifest as they are (it gzips plain ones)
            assert image.manifest_digest == multi_file_image.manifest_digest
    from_docker = store.read_source(tmp_path / "docker.tar")
    assert from_docker.manifest_synthesized
    assert from_docker.config.diff_ids == multi_file_image.config.diff_ids
